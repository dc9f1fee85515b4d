"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

# ============================================================================================
# Emulator fixtures (owned by creatok_graph/emulator; keep this block self-contained)
# ============================================================================================
if TYPE_CHECKING:
    from creatok_graph.emulator import Emulator

EmulatorFactory = Callable[..., "Emulator"]


@pytest.fixture
def emulator_factory() -> Iterator[EmulatorFactory]:
    """Start Emulators with custom options (port 0, task_seconds 0.3 by default); stopped after."""
    from creatok_graph.emulator import Emulator

    started: list[Emulator] = []

    def factory(**options: Any) -> Emulator:
        options.setdefault("task_seconds", 0.3)
        options.setdefault("port", 0)
        emu = Emulator(**options).start()
        started.append(emu)
        return emu

    yield factory
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(emulator_factory: EmulatorFactory) -> Emulator:
    """A fresh in-process emulator (task_seconds=0.3, sandbox key) on a free port."""
    return emulator_factory()


@pytest.fixture
def emulator_auth() -> dict[str, str]:
    """Headers a correct client sends to the emulator's API."""
    from creatok_graph.emulator import SANDBOX_API_KEY

    return {"Authorization": f"Bearer {SANDBOX_API_KEY}", "Accept": "application/json"}


# ============================================================================================
# End of emulator fixtures
# ============================================================================================
