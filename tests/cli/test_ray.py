"""``--engine ray`` on several files of several blocks each, hostile lines included: the same
bytes as the local engine, rows in input order; and SIGKILL then ``--resume`` on Ray."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ._helpers import EXAMPLE, cli, need, read_jsonl, read_strict

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOSTILE = [
    b"{broken",
    b"\x0c",
    b"",
    b'{"completion": "\\ud800", "solution": "B", "problem_type": "multiple choice"}',
    b'{"completion": "\xff", "solution": "B", "problem_type": "multiple choice"}',
    b"   ",
]


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """Three shards (one gzip) of 2,000 rows each, with hostile lines in the middle of each."""
    need("ray")
    need("pyarrow")
    folder = tmp_path_factory.mktemp("ray") / "shards"
    folder.mkdir()
    base = [r for r in read_jsonl(EXAMPLE) if r["problem_type"] != "math"]  # CPU-bound rows only
    k = 0
    for s in range(3):
        lines: list[bytes] = []
        for i in range(2000):
            lines.append(json.dumps({**base[k % len(base)], "row": k}).encode())
            k += 1
            if i == 1000 + s:
                lines += HOSTILE
        data = b"\n".join(lines) + b"\n"
        if s == 1:
            (folder / f"part-{s}.jsonl.gz").write_bytes(gzip.compress(data))
        else:
            (folder / f"part-{s}.jsonl").write_bytes(data)
    return folder, k


@pytest.fixture(scope="module")
def local(shards: tuple[Path, int]) -> Path:
    """The shards scored by the local engine."""
    out = shards[0].parent / "local.jsonl"
    assert cli("score", str(shards[0]), "-o", str(out), "--quiet", "--workers", "2").returncode == 1
    return out


def test_many_files_and_blocks_match_the_local_engine(shards: tuple[Path, int], local: Path,
                                                     tmp_path: Path) -> None:
    remote = tmp_path / "ray.jsonl"
    proc = cli("score", str(shards[0]), "-o", str(remote), "--engine", "ray", "--workers", "2",
               "--chunk-size", "150", timeout=900)  # 2,000+ lines a file: 14 blocks each
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert remote.read_bytes() == local.read_bytes()
    rows = read_strict(remote)
    n = shards[1]
    assert len(rows) == n + 3 * 4  # 4 non-blank hostile lines a shard; blank ones skipped
    assert [r["row"] for r in rows if "row" in r] == list(range(n))  # input order across files
    assert sum(r["status"] == "error" for r in rows) == 12
    # unreadable lines are named by shard and line, as the local engine names them
    assert "part-1.jsonl.gz line 1003: invalid JSON" in proc.stderr
    assert "part-0.jsonl line 1006: invalid UTF-8: byte 0xff" in proc.stderr
    assert "more unreadable lines follow" in proc.stderr  # 12 of them: the first 10 are listed


def test_sigkill_then_resume_on_ray(shards: tuple[Path, int], local: Path, tmp_path: Path) -> None:
    out = tmp_path / "resumed.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "unireward.cli", "score", str(shards[0]), "-o",
                             str(out), "--engine", "ray", "--workers", "2", "--chunk-size", "100",
                             "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "RAY_AUTH_MODE": "disabled"},
                            start_new_session=True)
    progress = Path(f"{out}.progress")
    deadline = time.monotonic() + 300
    done = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                done = json.loads(progress.read_text()).get("rows", 0)
            except (OSError, ValueError):
                pass
            if done > 0:
                break
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray instance it started
        proc.wait()
    done = json.loads(progress.read_text())["rows"]
    assert 0 < done < shards[1] and not out.exists()
    resumed = cli("score", str(shards[0]), "-o", str(out), "--engine", "ray", "--workers", "2",
                  "--chunk-size", "100", "--resume", timeout=900)
    assert resumed.returncode == 1, resumed.stderr[-3000:]
    assert f"resuming after {done:,} committed rows" in resumed.stderr
    assert out.read_bytes() == local.read_bytes()
    assert not progress.exists() and not Path(f"{out}.partial").exists()
