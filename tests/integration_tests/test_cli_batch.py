"""``creatok-image --batch FILE``: JSON Lines and CSV, one confirmation, exit codes 0/1/2."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from _helpers import wait_until
from test_cli import CLI, InProcess, World, assert_nothing_paid, assert_plain

FOX = "a red fox sitting in a snowy birch forest at dawn, watercolor style"
WHALE = "a blue whale breaching at sunset over a calm sea, oil painting"
CAT = "a ginger cat asleep on a stack of old books, soft morning light"


def write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_jsonl_one_confirmation_partial_failure_exit_1(tmp_path: Path) -> None:
    lines = [{"prompt": FOX}, {"prompt": "[fail] " + WHALE, "n": 2}, {"prompt": CAT}]
    batch = write(tmp_path, "catalogue.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    with InProcess() as emu:
        world = World(tmp_path, emu)
        run = world.run("--batch", batch, "--run-id", "cat1", "--json", stdin="yes\n")
        stats = emu.stats()
    assert run.returncode == 1, str(run)
    assert run.stderr.count("(yes/no") == 1, str(run)  # one question for the batch
    for fact in (FOX, WHALE, CAT, "Total estimated cost: 4 credits"):
        assert fact in run.stderr, str(run)
    assert re.search(r"^3/3 done \(1 not succeeded\)$", run.stderr, re.M), str(run)
    assert_plain(run.output)
    record = run.json()
    assert record["status"] == "partial" and record["ok"] is False
    results = record["results"]
    assert [r["status"] for r in results] == ["succeeded", "failed", "succeeded"]
    assert [r["prompt"] for r in results] == [FOX, "[fail] " + WHALE, CAT]
    assert all(r["images"] for r in (results[0], results[2]))
    assert stats["submits"] == 3 and stats["capabilities"] == 1
    saved = json.loads((world.artifacts / "cat1" / "outputs" / "result.json").read_text())
    assert [r["task_id"] for r in saved["results"]] == [r["task_id"] for r in results]


def test_csv_with_header_all_succeed_exit_0(tmp_path: Path) -> None:
    batch = write(tmp_path, "batch.csv",
                  "prompt,resolution,n\n"
                  f'"{FOX}",1K,\n'
                  f'"{CAT}",,2\n')
    with InProcess() as emu:
        world = World(tmp_path, emu)
        run = world.run("--batch", batch, stdin="yes\n")
        stats = emu.stats()
    assert run.returncode == 0, str(run)
    assert "2 of 2 generations succeeded" in run.stdout, str(run)
    assert len(re.findall(r"^https?://", run.stdout, re.M)) == 3, str(run)  # 1 + 2 images
    assert "1. 1 image · Nano Banana 2 · 1K" in run.stdout, str(run)
    assert "2. 2 images · Nano Banana 2 · 2K" in run.stdout, str(run)
    assert stats["submits"] == 2, stats


def test_declined_batch_exit_2_nothing_paid(tmp_path: Path) -> None:
    batch = write(tmp_path, "b.jsonl", json.dumps({"prompt": FOX}) + "\n"
                  + json.dumps({"prompt": CAT}) + "\n")
    with InProcess() as emu:
        world = World(tmp_path, emu)
        run = world.run("--batch", batch, "--json", "--run-id", "b1", stdin="no\n")
        stats = emu.stats()
        # the same command again: asked again (nothing was sent), and a yes goes ahead
        again = world.run("--batch", batch, "--json", "--run-id", "b1", stdin="yes\n")
        after = emu.stats()
    assert run.returncode == 2, str(run)
    assert run.json()["status"] == "cancelled"
    assert [r["status"] for r in run.json()["results"]] == ["cancelled", "cancelled"]
    assert_nothing_paid(stats)
    assert again.returncode == 0, str(again)
    assert [r["status"] for r in again.json()["results"]] == ["succeeded", "succeeded"]
    assert after["submits"] == 2


def test_invalid_items_exit_2_before_any_question(tmp_path: Path) -> None:
    batch = write(tmp_path, "b.jsonl", "\n".join(json.dumps(x) for x in [
        {"prompt": FOX}, {"prompt": CAT, "resolution": "9K"}, {"prompt": WHALE, "n": 99},
    ]))
    with InProcess() as emu:
        run = World(tmp_path, emu).run("--batch", batch, stdin="yes\n")
        stats = emu.stats()
    assert run.returncode == 2, str(run)
    assert "(yes/no" not in run.output, str(run)
    assert "request 2" in run.stdout and "1K, 2K or 4K" in run.stdout, str(run)
    assert "request 3" in run.stdout, str(run)
    assert_nothing_paid(stats)


def test_a_file_we_cannot_read_is_a_usage_error(tmp_path: Path) -> None:
    batch = write(tmp_path, "b.csv", "prompt,colour\na fox,red\n")
    with InProcess() as emu:
        run = World(tmp_path, emu).run("--batch", batch, stdin="yes\n")
        stats = emu.stats()
    assert run.returncode == 2, str(run)
    assert "colour" in run.stderr and "aspect_ratio" in run.stderr, str(run)
    assert_nothing_paid(stats)
    assert stats["capabilities"] == 0


def test_run_again_the_same_batch_retries_only_what_did_not_succeed(tmp_path: Path) -> None:
    lines = [{"prompt": FOX}, {"prompt": "[fail] " + WHALE}, {"prompt": CAT}]
    batch = write(tmp_path, "retry.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    args = ("--batch", batch, "--run-id", "cat2", "--json")
    with InProcess() as emu:
        world = World(tmp_path, emu)
        first = world.run(*args, stdin="yes\n")
        again = world.run(*args, stdin="yes\n")  # the same command
        stats = emu.stats()
    assert first.returncode == 1, str(first)
    assert again.returncode == 1, str(again)  # "[fail]" fails again; the others are kept
    assert "Batch cat2 ended earlier with requests that did not succeed" in again.stderr
    assert again.stderr.count("(yes/no") == 1, str(again)
    assert "2. 1 image" in again.stderr and "1. 1 image" not in again.stderr, str(again)
    assert "3. 1 image" not in again.stderr, str(again)
    assert stats["submits"] == 4, stats  # 3, then only the failed one
    before, after = first.json()["results"], again.json()["results"]
    assert [r["status"] for r in after] == ["succeeded", "failed", "succeeded"]
    assert [after[i]["task_id"] for i in (0, 2)] == [before[i]["task_id"] for i in (0, 2)]
    assert after[1]["task_id"] != before[1]["task_id"] and after[1]["run_id"] == "cat2-1.2"


def test_requests_in_doubt_are_asked_about_one_by_one(tmp_path: Path) -> None:
    """The paid answers come back as an HTML page (the emulator's non-json scenario): both
    requests may have been charged. The CLI asks once, listing both, with the warning; the
    answer "retry, stop" resends the first only. The emulator does not de-duplicate
    Idempotency-Key here: a resend is a new charge."""
    batch = write(tmp_path, "doubt.jsonl", json.dumps({"prompt": FOX}) + "\n"
                  + json.dumps({"prompt": CAT}) + "\n")
    with InProcess(honour_idempotency=False) as emu:
        world = World(tmp_path, emu)
        proc = subprocess.Popen([str(CLI), "--batch", batch, "--run-id", "doubt", "--json"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=world.env())
        assert proc.stdin is not None
        try:
            assert wait_until(lambda: emu.stats()["capabilities"] == 1, 60)
            emu.set_scenarios(["non-json"])  # from now on, a broken proxy answers
            proc.stdin.write("yes\n")
            proc.stdin.flush()
            assert wait_until(lambda: emu.stats()["submit_requests"] == 2, 60)
            sent = emu.stats()
            emu.set_scenarios([])
            out, err = proc.communicate("retry, stop\n", timeout=90)
        finally:
            proc.kill()
        stats = emu.stats()
    shown = f"exit {proc.returncode}\n{out}{err}"
    assert proc.returncode == 1, shown  # one request stopped in doubt: not a "no"
    assert "may charge a second time" in err and "number 1, 2" in err, shown
    assert sent["submit_requests"] == 2 and sent["submits"] == 0
    assert stats["submit_requests"] == 3 and stats["submits"] == 1, stats  # the retry only
    record = json.loads(out.strip().splitlines()[-1])
    results = record["results"]
    assert [r["status"] for r in results] == ["succeeded", "cancelled"], shown
    assert results[1]["error"]["kind"] == "unknown_outcome"
    assert record["status"] == "partial"
