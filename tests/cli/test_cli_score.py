"""The real command line, as a subprocess."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

import unireward

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "rollouts.jsonl"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "unireward.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_example_dump_scores_every_row_in_order(tmp_path: Path) -> None:
    out = tmp_path / "scored.jsonl"
    proc = run("score", str(EXAMPLE), "-o", str(out), "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    rows_in = [json.loads(line) for line in EXAMPLE.read_text().splitlines()]
    rows_out = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows_out) == len(rows_in) >= 200
    tasks = {r["problem_type"] for r in rows_in}
    assert {"multiple choice", "math", "segmentation", "tracking", "captioning"} <= tasks
    for a, b in zip(rows_in, rows_out, strict=True):
        assert {k: b[k] for k in a} == a  # input fields kept
        expected = unireward.score(a["completion"], a["solution"], a["problem_type"], data_type=a["data_type"])
        assert b["reward"] == pytest.approx(expected.total) and b["status"] == expected.status.value
    assert "segmentation" in proc.stdout and "rows/s" in proc.stdout


def test_malformed_lines_are_kept_and_reported(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"completion": "<think>t</think><answer>4</answer>", "solution": "4", "problem_type": "numerical"}\n'
        "{not json\n"
        '{"completion": "x", "solution": "4", "problem_type": "no such task"}\n'
        '[1, 2]\n'
    )
    out = tmp_path / "out.jsonl"
    proc = run("score", str(src), "-o", str(out), "--workers", "1")
    assert proc.returncode == 1
    assert "line 2" in proc.stderr and "line 4" in proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "error", "error", "error"]
    assert rows[1]["_raw"] == "{not json"
    assert "no scorer registered" in rows[2]["reason"]
    strict = run("score", str(src), "-o", str(tmp_path / "strict.jsonl"), "--strict")
    assert strict.returncode == 2 and not (tmp_path / "strict.jsonl").exists()


def test_gzip_round_trip_and_field_mapping(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl.gz"
    rows = [{"resp": "<think>t</think><answer>B</answer>", "meta": {"gt": "B", "kind": "multiple choice"}}] * 5
    with gzip.open(src, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    out = tmp_path / "out.jsonl.gz"
    proc = run("score", str(src), "-o", str(out), "--field", "completion=resp",
               "--field", "ground_truth=meta.gt", "--field", "task=meta.kind", "--quiet")
    assert proc.returncode == 0, proc.stderr
    with gzip.open(out, "rt") as fh:
        scored = [json.loads(line) for line in fh]
    assert [r["reward"] for r in scored] == [1.5] * 5


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("score", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "o.jsonl")).returncode == 2
    assert run("score", str(EXAMPLE)).returncode == 2  # no -o
    assert run("score", str(EXAMPLE), "-o", str(tmp_path / "o"), "--field", "oops").returncode == 2
    assert run("--help").returncode == 0


def test_validate(tmp_path: Path) -> None:
    assert run("validate", str(EXAMPLE)).returncode == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"completion": "x", "solution": "{oops", "problem_type": "spatial grounding"}\n')
    proc = run("validate", str(bad))
    assert proc.returncode == 1 and "not valid JSON" in proc.stderr


def test_example_file_is_reproducible() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "make_rollouts.py")], capture_output=True,
                         text=True, check=True)
    assert out.stdout == EXAMPLE.read_text()


@pytest.mark.integration
@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted_run(tmp_path: Path) -> None:
    import os
    import signal
    import time

    base = [json.loads(line) for line in EXAMPLE.read_text().splitlines()
            if '"math"' not in line]  # keep the run CPU-bound and quick per row
    rows = (base * (40_000 // len(base) + 1))[:40_000]
    src = tmp_path / "big.jsonl"
    with src.open("w") as fh:
        for i, r in enumerate(rows):
            fh.write(json.dumps({**r, "row": i}) + "\n")
        fh.write("{broken line\n")
    full = tmp_path / "full.jsonl"
    assert run("score", str(src), "-o", str(full), "--workers", "1", "--quiet").returncode == 1  # one bad line
    out = tmp_path / "resumed.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "unireward.cli", "score", str(src), "-o", str(out),
                             "--workers", "1", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = Path(str(out) + ".progress")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if progress.exists() and json.loads(progress.read_text() or "{}").get("rows", 0) > 0:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = json.loads(progress.read_text())["rows"]
    assert 0 < done < len(rows) and not out.exists()
    resumed = run("score", str(src), "-o", str(out), "--workers", "2", "--quiet", "--resume")
    assert resumed.returncode == 1, resumed.stderr
    a = full.read_text().splitlines()
    b = out.read_text().splitlines()
    assert len(a) == len(b) == len(rows) + 1
    assert a == b
    assert not progress.exists()


def test_parquet_round_trip(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    out = tmp_path / "scored.parquet"
    assert run("score", str(EXAMPLE), "-o", str(out), "--quiet").returncode == 0
    table = pq.read_table(out).to_pylist()
    ref = [json.loads(line) for line in EXAMPLE.read_text().splitlines()]
    assert len(table) == len(ref)
    assert [r["completion"] for r in table] == [r["completion"] for r in ref]
    again = tmp_path / "again.jsonl"
    assert run("score", str(out), "-o", str(again), "--quiet").returncode == 0  # Parquet in
    rescored = [json.loads(line) for line in again.read_text().splitlines()]
    assert [r["reward"] for r in rescored] == [r["reward"] for r in table]
    assert pa is not None


@pytest.mark.integration
@pytest.mark.slow
def test_ray_engine_matches_local(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    src = tmp_path / "in.jsonl"
    src.write_text(EXAMPLE.read_text() + "{broken\n")
    assert run("score", str(src), "-o", str(local), "--quiet", "--workers", "1").returncode == 1
    proc = run("score", str(src), "-o", str(remote), "--quiet", "--engine", "ray", "--workers", "2")
    assert proc.returncode == 1, proc.stderr[-3000:]
    a = [json.loads(x) for x in local.read_text().splitlines()]
    b = [json.loads(x) for x in remote.read_text().splitlines()]
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        x.pop("reason", None), y.pop("reason", None)  # the line number is only known locally
        assert x == y
