"""``make bench`` keeps working: ``benchmarks/run.py --quick --smoke`` end to end.

Tiny sizes (a few runs of a 0.3 s task), so it takes seconds. It checks that every
scenario still runs and prints its table; it asserts nothing about timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TITLES = ("What a user feels", "Start-up", "Poll schedule", "Latency", "Overhead", "Concurrency",
          "Storage", "Floor: launch -> import done")


def test_bench_smoke(tmp_path: Path) -> None:
    report = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "run.py"), "--quick", "--smoke",
         "--json", str(report)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    for title in TITLES:
        assert f"## {title}" in done.stdout, title
    figures = json.loads(report.read_text())
    assert {"cli", "startup", "schedule", "latency", "overhead", "concurrency", "storage",
            "floor"} <= set(figures)
    for row in figures["cli"]:  # every whole-command run of both clients succeeded
        assert all(fig["ok"] == fig["n"] for fig in (row["reference"], row["first"], row["learnt"]))
        assert row["reference"]["caps"] == 2
    assert all(row["kind"] in ("reference", "client", "graph") for row in figures["latency"])
    for storage in figures["storage"]:  # state holds URLs, never image bytes or the key
        assert storage["threads"] > 0
        assert not storage["png_found"] and not storage["key_found"]
    graphs = figures["floor"]["graphs"]  # every bare run of every checkpointer finished
    assert set(graphs) == {"memory", "package", "library"}
    assert all(g["runs"] > 0 and g["ok"] == g["runs"] for g in graphs.values())
    batch = figures["floor"]["n"]  # ...and with the requests: each run charged once, one
    for g in figures["floor"]["graphs_requests"].values():  # capabilities GET per batch
        assert g["runs"] > 0 and g["ok"] == g["charges"] == g["runs"]
        assert g["capabilities_fetches"] == g["runs"] // batch
    assert set(figures["floor"]["graphs_requests"]) == set(graphs)
