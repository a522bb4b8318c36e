"""``unireward serve`` from the command line (the server itself: tests/server/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from unireward.cli import main

ROOT = Path(__file__).resolve().parents[2]

LOAD = """
import httpx, json, sys, time
from concurrent.futures import ThreadPoolExecutor
url = sys.argv[1]
recs = [{"completion": '<think>t</think><answer>{"boxes": [1, 2, 30, 40]}</answer>',
         "ground_truth": {"boxes": [1, 2, 30, 42]}, "task": "spatial grounding"}] * 16
client = httpx.Client(trust_env=False, timeout=60, limits=httpx.Limits(max_connections=8))
def one(_):
    r = client.post(url + "/score", json={"records": recs})
    return r.status_code == 200 and [x["status"] for x in r.json()["results"]] == ["ok"] * 16
t = time.perf_counter()
with ThreadPoolExecutor(8) as ex:
    ok = list(ex.map(one, range(200)))
client.close()
print(json.dumps({"errors": ok.count(False), "seconds": time.perf_counter() - t}))
"""


def test_help_lists_the_limits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--api-key", "--insecure", "--backlog", "--max-records", "--request-timeout",
                   "--header-timeout", "--body-timeout", "--grace", "--max-concurrency"):
        assert option in out


@pytest.mark.integration
def test_load_from_another_process() -> None:
    if os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        pytest.importorskip("uvicorn")  # in CI a missing server extra fails below
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    srv = subprocess.Popen([sys.executable, "-m", "unireward.cli", "serve", "--port", "0"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert srv.stdout is not None
        url = srv.stdout.readline().split("serving on ", 1)[1].split()[0]
        out = subprocess.run(
            [sys.executable, "-c", LOAD, url], capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout.strip().splitlines()[-1])["errors"] == 0
    finally:
        srv.terminate()
        _, err = srv.communicate(timeout=60)
    assert srv.returncode == 0, err
