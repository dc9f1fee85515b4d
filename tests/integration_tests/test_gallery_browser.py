"""``outputs/index.html`` in a real headless browser: every image must render.

Debian's Chromium loads the page from disk with networking to anything but the local
emulator impossible (no external assets exist to fetch); the page's own script marks each
figure ``loaded`` (natural width > 0) or ``broken``, and ``--dump-dom`` shows the result.
Skipped, with the reason, when no Chromium is installed (``.ci/run`` installs it when it can).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from graph_support import APPROVE, PROMPT, Harness

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
BROWSER = next((path for name in BROWSERS if (path := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no Chromium found (apt-get install chromium): the gallery's browser test needs one",
)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--virtual-time-budget=10000")


def browse(page: Path, profile: Path, *extra: str) -> str:
    assert BROWSER is not None
    done = subprocess.run(
        [BROWSER, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def figure_states(dom: str) -> list[str | None]:
    states = []
    for tag in re.findall(r"<figure[^>]*>", dom):
        found = re.search(r'data-state="([a-z]+)"', tag)
        states.append(found.group(1) if found else None)
    return states


async def test_every_image_of_the_gallery_renders(h1: Harness, tmp_path: Path) -> None:
    h1.emulator.set_scenarios(["jpeg-images"])  # a PNG, a JPEG, a PNG, a JPEG
    await h1.invoke({"prompt": PROMPT, "n": 4, "aspect_ratio": "16:9"})
    done = await h1.resume(APPROVE)
    page = h1.root / "t1" / "outputs" / "index.html"
    dom = browse(page, tmp_path / "profile", "--dump-dom")
    assert figure_states(dom) == ["loaded"] * 4, dom[-3000:]
    shot = tmp_path / "gallery.png"
    browse(page, tmp_path / "profile", "--window-size=1200,900", f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000  # a page with pictures, not a blank one

    # A copy gone missing: the page falls back to the original link, which still works.
    (page.parent / done["images"][1]["file"]).unlink()
    assert figure_states(browse(page, tmp_path / "profile", "--dump-dom")) == ["loaded"] * 4


async def test_expired_links_without_copies_show_a_note(h1: Harness, tmp_path: Path) -> None:
    h1.emulator.set_scenarios(["expired-urls"])
    await h1.invoke({"prompt": PROMPT, "n": 2})
    await h1.resume(APPROVE)
    dom = browse(h1.root / "t1" / "outputs" / "index.html", tmp_path / "profile", "--dump-dom")
    assert figure_states(dom) == ["broken", "broken"], dom[-3000:]
