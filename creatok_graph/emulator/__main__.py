"""``python -m creatok_graph.emulator``: same as the ``creatok-emulator`` console script."""

from .cli import main

raise SystemExit(main())
