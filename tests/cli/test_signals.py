"""The pool workers of ``unireward score`` end with it: after SIGKILL (they notice their
parent is gone) and after SIGTERM (the command stops them, keeps its committed rows and
exits 130)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ._helpers import EXAMPLE, cli, read_jsonl

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/task").is_dir() and os.environ.get("CI", "").lower() != "true",
    reason="needs Linux /proc",
)  # in CI: runs (and fails without /proc)


def _dump(path: Path, n: int) -> Path:
    base = [r for r in read_jsonl(EXAMPLE) if r["problem_type"] != "math"]
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({**base[i % len(base)], "row": i}) + "\n")
    return path


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out.update(int(x) for x in (task / "children").read_text().split())
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _start(src: Path, out: Path) -> tuple[subprocess.Popen[bytes], set[int]]:
    proc = subprocess.Popen([sys.executable, "-m", "unireward.cli", "score", str(src), "-o",
                             str(out), "--workers", "2", "--chunk-size", "300", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "RAY_AUTH_MODE": "disabled"})
    progress = Path(f"{out}.progress")
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            committed = json.loads(progress.read_text()).get("rows", 0)
        except (OSError, ValueError):
            committed = 0
        workers = _children(proc.pid)
        if committed > 0 and len(workers) >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None and len(workers) >= 2, "the run ended before it could be interrupted"
    return proc, workers


def _wait_gone(pids: set[int], seconds: float) -> set[int]:
    """The pids still alive after ``seconds``; those are killed, so a failing test leaks none."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    left = {p for p in pids if _alive(p)}
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    return left


@pytest.mark.integration
def test_workers_end_after_sigkill_of_the_command(tmp_path: Path) -> None:
    src = _dump(tmp_path / "in.jsonl", 40_000)
    proc, workers = _start(src, tmp_path / "out.jsonl")
    proc.kill()
    proc.wait()
    t0 = time.monotonic()
    assert _wait_gone(workers, 10) == set()
    assert time.monotonic() - t0 < 5  # they notice within a fraction of a second


@pytest.mark.integration
def test_sigterm_stops_workers_keeps_rows_and_resume_completes(tmp_path: Path) -> None:
    n = 40_000
    src = _dump(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    proc, workers = _start(src, out)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    assert "run again with --resume" in err.decode() and b"Traceback" not in err
    assert _wait_gone(workers, 5) == set()
    done = json.loads(Path(f"{out}.progress").read_text())["rows"]
    assert 0 < done < n
    resumed = cli(
        "score", str(src), "-o", str(out), "--resume", "--workers", "2", "--chunk-size", "300"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after {done:,} committed rows" in resumed.stderr
    assert [r["row"] for r in read_jsonl(out)] == list(range(n))
