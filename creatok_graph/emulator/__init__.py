"""Local emulator of CreatOK's Open Skills image API (standard library only).

Used by the test suite, the CLI's ``--sandbox`` mode and benchmarks so nothing
ever reaches (or pays) the real service::

    with Emulator(task_seconds=0.5) as emu:
        client = SomeClient(base_url=emu.base_url, api_key=emu.api_key)
"""

from .server import (
    FAIL_MARKER,
    PROGRESS_UNITS,
    SANDBOX_API_KEY,
    SCENARIO_HELP,
    SCENARIO_NAMES,
    Emulator,
    Scenario,
    load_capabilities,
    normalize_capabilities,
)

__all__ = [
    "FAIL_MARKER",
    "PROGRESS_UNITS",
    "SANDBOX_API_KEY",
    "SCENARIO_HELP",
    "SCENARIO_NAMES",
    "Emulator",
    "Scenario",
    "load_capabilities",
    "normalize_capabilities",
]
