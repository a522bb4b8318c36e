"""The reward server over real HTTP on 127.0.0.1, and a load test from a second process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from unireward.cli._serve import serve_in_thread


@pytest.fixture
def server() -> Iterator[str]:
    srv, _thread = serve_in_thread(max_body=100_000)
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_openrlhf_protocol(server: str) -> None:
    with httpx.Client(base_url=server, trust_env=False) as c:
        assert c.get("/health").json()["status"] == "ok"
        r = c.post("/get_reward", json={
            "query": ["Q1 <think>t</think><answer>C</answer>", "Q2 <think>t</think><answer>3</answer>",
                      "Q3 no tags at all"],
            "prompts": ["Q1 ", "Q2 ", "Q3 "],
            "labels": [json.dumps({"task": "multiple choice", "ground_truth": "C"}),
                       {"task": "numerical", "ground_truth": "4"},
                       {"task": "multiple choice", "ground_truth": "<answer>A</answer>"}],
        })
        assert r.status_code == 200
        body = r.json()
        # by hand: 0.9 * acc + 0.1 * format + structure (0.5 when well formed)
        assert body["rewards"] == pytest.approx([1.5, 0.6, 0.0])
        assert body["scores"] == [1.0, 0.0, 0.0]
        assert body["extra_logs"]["format"] == [1.0, 1.0, 0.0]
        assert all(isinstance(v, float) for vs in body["extra_logs"].values() for v in vs)
        assert body["status"][:2] == ["ok", "ok"] and body["status"][2] != "ok"


def test_default_task_and_json_ground_truths() -> None:
    srv, _ = serve_in_thread(default_task="spatial grounding")
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        r = httpx.post(f"{url}/get_reward", trust_env=False, json={
            "query": ['<think>t</think><answer>{"boxes": [0, 0, 10, 10]}</answer>'],
            "labels": ['{"boxes": [0, 0, 10, 20]}']})  # a JSON ground truth, not a label object
        assert r.status_code == 200
        assert r.json()["scores"] == pytest.approx([0.5])  # IoU by hand: 100 / 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_score_endpoint_and_errors(server: str) -> None:
    with httpx.Client(base_url=server, trust_env=False) as c:
        s = c.post("/score", json={"records": [{"completion": "<think>t</think><answer>B</answer>",
                                                "ground_truth": "B", "task": "multiple choice"}, {"bad": 1}]})
        assert s.status_code == 200
        assert [x["status"] for x in s.json()["results"]] == ["ok", "error"]
        for bad in (c.post("/get_reward", content=b"{nope"),
                    c.post("/get_reward", json={"query": ["a"], "labels": ["x"]}),  # no task anywhere
                    c.post("/get_reward", json={"query": ["a", "b"], "labels": ["x"]}),
                    c.post("/get_reward", json=[1, 2]),
                    c.post("/score", json={"records": 3})):
            assert bad.status_code == 400 and bad.headers["content-type"] == "application/json"
            assert bad.json()["error"]
        big = c.post("/score", content=b"x" * 200_000)
        assert big.status_code == 413 and "bytes" in big.json()["error"]
        assert c.get("/nope").status_code == 404 and c.post("/nope", json={}).status_code == 404


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


@pytest.mark.integration
def test_load_from_another_process(server: str) -> None:
    out = subprocess.run([sys.executable, "-c", LOAD, server], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == 0
