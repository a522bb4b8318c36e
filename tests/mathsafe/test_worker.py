"""The worker pool: answers, per-step deadlines, replacement of killed workers, an
isolated import path, and workers that end with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from unireward._mathsafe.worker import MathWorkerPool, WorkerDeadline, verify_inline
from unireward.errors import ConfigurationError
from unireward.tasks.base import ScoreOptions

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.mark.integration
def test_pool_answers_and_survives_a_deadline() -> None:
    pool = MathWorkerPool(size=1)
    try:
        assert pool.verify("$\\frac{1}{2}$", "$0.5$", timeout=60.0) == {"equal": True}
        assert pool.verify("$x+1$", "$x+2$", timeout=60.0) == {"equal": False}
        start = time.monotonic()
        with pytest.raises(WorkerDeadline, match="verifying hit the 1 s deadline"):
            pool.verify("3", "$(x+y+z+1)^{60}$", timeout=1.0)
        assert time.monotonic() - start < 5.0
        assert pool.kills == 1
        assert pool.verify("$\\sqrt{4}$", "2", timeout=60.0) == {"equal": True}
    finally:
        pool.close()


@pytest.mark.integration
def test_a_group_goes_on_after_a_deadline() -> None:
    pool = MathWorkerPool(size=1)
    try:
        out = pool.verify_group(
            "$3$", ["$\\sqrt{9}$", "$(x+y+z+1)^{60}$", "$\\frac{6}{2}$"], timeout=1.0
        )
        assert out == [{"equal": True}, {"deadline": "verifying"}, {"equal": True}]
    finally:
        pool.close()


@pytest.mark.integration
def test_the_screen_runs_on_what_extraction_keeps() -> None:
    pool = MathWorkerPool(size=1)
    try:
        tower = "$9^{9^{9^{9}}}$"
        assert pool.verify("3", tower, timeout=60.0) == {
            "refused": "power tower (three levels)",
            "side": "answer",
        }
        assert pool.verify(tower, "3", timeout=60.0)["side"] == "ground truth"
        # the tower is in the text, but extraction keeps the boxed answer only
        assert pool.verify("3", f"Not {tower}, but \\boxed{{3}}", timeout=60.0) == {"equal": True}
    finally:
        pool.close()


def test_inline_verification_matches_the_pool_protocol() -> None:
    assert verify_inline("$\\frac{1}{2}$", "$0.5$") == {"equal": True}
    assert verify_inline("7", "8") == {"equal": False}


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), -1.0, 0.0, 1e9, "soon", True, None])
def test_math_timeout_is_validated_at_construction(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="math_timeout must be a finite number of seconds"):
        ScoreOptions(math_timeout=bad)  # type: ignore[arg-type]


def test_math_timeout_accepts_the_bounds() -> None:
    assert ScoreOptions(math_timeout=3600).math_timeout == 3600
    assert ScoreOptions(math_timeout=0.25).math_timeout == 0.25


@pytest.mark.integration
def test_workers_do_not_import_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "math_verify.py").write_text(
        textwrap.dedent(f"""
        open({str(marker)!r}, "w").close()
        def parse(*args, **kwargs):
            return ["x"]
        def verify(*args, **kwargs):
            return True
    """)
    )
    monkeypatch.chdir(tmp_path)
    # an empty PYTHONPATH entry also means "the current directory"
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep + SRC + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    pool = MathWorkerPool(size=1)
    try:
        assert pool.verify("$x+1$", "$x+2$", timeout=60.0) == {"equal": False}
    finally:
        pool.close()
    assert not marker.exists()


_ORPHAN_SCRIPT = """
import sys, threading, time
from unireward._mathsafe.worker import MathWorkerPool
pool = MathWorkerPool(size=2)
assert pool.verify("1", "1", timeout=60.0) == {"equal": True}
assert pool.verify("2", "2", timeout=60.0) == {"equal": True}
pool.start()
while len(pool._free) < 2:
    time.sleep(0.05)
pids = [w.proc.pid for w in pool._free]
threading.Thread(target=pool.verify, args=("3", "$(x+y+z+1)^{90}$", 600.0), daemon=True).start()
time.sleep(0.5)
print(" ".join(map(str, pids)), flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.integration
@pytest.mark.skipif(
    not Path("/proc/self/stat").exists() and os.environ.get("CI", "").lower() != "true",
    reason="needs /proc",
)  # in CI: runs (and fails without /proc)
def test_workers_end_with_their_parent_killed_by_sigkill() -> None:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    parent = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_SCRIPT], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(_running(p) for p in pids)  # one idle, one busy
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(30)
        end = time.monotonic() + 10
        while any(_running(p) for p in pids) and time.monotonic() < end:
            time.sleep(0.1)
        assert not any(_running(p) for p in pids)
    finally:
        parent.kill()
