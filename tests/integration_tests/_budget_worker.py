"""``creatok-image`` that lingers in a window, for the spend guard's SIGKILL tests.

    python _budget_worker.py WINDOW HOLD_SECONDS -- <creatok-image arguments>

``reserved``: the run's credits are reserved in the store (the approval was answered)
and nothing has been submitted yet. Any other window is one of ``_fault_worker.py``'s.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import Any

import _fault_worker

from creatok_graph import budget, cli


def main(argv: list[str]) -> int:
    window, hold = argv[0], float(argv[1])
    if window == "reserved":
        real_reserve = budget.SpendBook.reserve

        def reserve(self: budget.SpendBook, *args: Any,
                    **kwargs: Any) -> Generator[Any, Any, Any]:
            kept = yield from real_reserve(self, *args, **kwargs)
            _fault_worker.enter("reserved", hold)
            return kept

        budget.SpendBook.reserve = reserve  # type: ignore[method-assign]
    else:
        _fault_worker.install(window, hold)
    return cli.main(argv[argv.index("--") + 1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
