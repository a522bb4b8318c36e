"""The HTTP protocol of ``unireward serve``, over a real socket on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from unireward.server import ServerConfig, serve_in_thread

from .conftest import need, raw_exchange, record, split_reply


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_in_thread(ServerConfig(max_body=200_000, max_header_bytes=4096)) as base:
        yield base


def openrlhf_request(
    url: str, queries: list[str], prompts: list[str], labels: list[object]
) -> dict:
    """The call of OpenRLHF's remote reward client up to 0.8
    (``remote_rm_utils.request_api_wrapper``):
    ``requests.post(url, json=data, headers={"Content-Type": "application/json"}, timeout=180)``
    with ``data = {"query": queries, "prompts": prompts, "labels": labels}``, then
    ``raise_for_status()`` and ``.json()``; the same library and arguments, so the same bytes."""
    requests = need("requests")
    response = requests.post(url=url, json={"query": queries, "prompts": prompts, "labels": labels},
                             headers={"Content-Type": "application/json"}, timeout=180)
    response.raise_for_status()
    return response.json()


async def openrlhf_agent_request(url: str, query: str, prompt: str, label: object) -> dict:
    """The call of OpenRLHF 0.11's ``SingleTurnAgentExecutor._fetch_rewards_via_http``: one
    sample per request, ``aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=180))``,
    ``session.post(url, json={"query": [query], "prompts": [prompt], "labels": [label]})``,
    ``raise_for_status()``, ``await response.json()``; it reads ``rewards``, ``scores`` (or
    ``rewards`` when absent) and ``extra_logs``."""
    aiohttp = need("aiohttp")
    timeout = aiohttp.ClientTimeout(total=180)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.post(
            url, json={"query": [query], "prompts": [prompt], "labels": [label]}
        ) as response:
            response.raise_for_status()
            return await response.json()


ONETHINKER_LABELS = [
    json.dumps({"problem_type": "multiple choice", "solution": "<answer>C</answer>"}),
    {"problem_type": "numerical", "solution": "4"},
    json.dumps({"task": "multiple choice", "answer": "A", "data_type": "image"}),
    json.dumps(
        {"problem_type": "temporal grounding", "solution": '{"time": [4, 8]}', "problem_id": 7}
    ),
]
QUERIES = ["Q1 <think>t</think><answer>C</answer>", "Q2 <think>t</think><answer>3</answer>",
           "Q3 no tags at all", 'Q4 <think>t</think><answer>{"time": [2, 6]}</answer>']
PROMPTS = ["Q1 ", "Q2 ", "Q3 ", "Q4 "]
# by hand: 0.9 * accuracy + 0.1 * format + structure (0.5 when well formed);
# Q4: IoU of [2, 6] and [4, 8] is 2 / 6
REWARDS = [1.5, 0.6, 0.0, 0.9 / 3 + 0.1 + 0.5]
SCORES = [1.0, 0.0, 0.0, 1 / 3]


def test_openrlhf_agent_client_one_sample_per_request(url: str) -> None:
    import asyncio

    async def main() -> list[dict]:
        calls = [
            openrlhf_agent_request(f"{url}/get_reward", q, p, lb)
            for q, p, lb in zip(QUERIES * 64, PROMPTS * 64, ONETHINKER_LABELS * 64, strict=True)
        ]
        return await asyncio.gather(*calls)  # the rollouts of a step arrive together

    outs = asyncio.run(main())
    assert [o["rewards"][0] for o in outs] == pytest.approx(REWARDS * 64)
    assert [o["scores"][0] for o in outs] == pytest.approx(SCORES * 64)
    assert [o["extra_logs"]["format"] for o in outs[:4]] == [[1.0], [1.0], [0.0], [1.0]]


def test_openrlhf_client_with_onethinker_labels(url: str) -> None:
    torch = need("torch")
    out = openrlhf_request(f"{url}/get_reward", QUERIES, PROMPTS, ONETHINKER_LABELS)
    assert out["rewards"] == pytest.approx(REWARDS)
    assert out["scores"] == pytest.approx(SCORES)
    assert out["extra_logs"]["format"] == [1.0, 1.0, 0.0, 1.0]
    assert out["status"][:2] == ["ok", "ok"] and out["status"][2] != "ok"
    # OpenRLHF turns rewards, scores and every extra_logs list into tensors
    assert torch.tensor(out["rewards"]).shape == (4,)
    for values in out["extra_logs"].values():
        assert torch.tensor(values).dtype == torch.float32


def test_the_response_is_found_in_a_decoded_vision_query(url: str) -> None:
    # OpenRLHF decodes prompt + response tokens with special tokens kept: the processor
    # expanded the image placeholder, and the response ends with the end-of-turn token
    prompt = (
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Which option? (A) 1 (B) 2"
        "<|im_end|>\n<|im_start|>assistant\n"
    )
    query = (prompt.replace("<|image_pad|>", "<|image_pad|>" * 300)
             + "<think>the second</think><answer>B</answer><|im_end|><|endoftext|>")
    label = json.dumps({"problem_type": "multiple choice", "solution": "<answer>B</answer>"})
    out = openrlhf_request(
        f"{url}/get_reward",
        [query, prompt + "<answer>B</answer></s>"],
        [prompt, prompt],
        [label, label],
    )
    assert out["rewards"] == [1.5, 0.9 + 0.0]  # the second has no <think>: format 0
    assert out["status"] == ["ok", "format_error"]


def test_bare_labels_use_the_default_task() -> None:
    with serve_in_thread(ServerConfig(default_task="spatial grounding")) as base:
        r = httpx.post(f"{base}/get_reward", trust_env=False, json={
            "query": ['<think>t</think><answer>{"boxes": [0, 0, 10, 10]}</answer>'],
            "labels": ['{"boxes": [0, 0, 10, 20]}']})  # a JSON ground truth, not a label object
    assert r.status_code == 200
    assert r.json()["scores"] == pytest.approx([0.5])  # IoU by hand: 100 / 200


def test_a_400_names_the_missing_field(url: str) -> None:
    with httpx.Client(base_url=url, trust_env=False) as c:
        only_query = c.post("/get_reward", json={"query": ["a"]})
        assert only_query.status_code == 400 and "'labels'" in only_query.json()["error"]
        empty = c.post("/get_reward", json={})
        assert "'query'" in empty.json()["error"] and "'labels'" in empty.json()["error"]
        no_records = c.post("/score", json={"rows": []})
        assert no_records.status_code == 400 and "'records'" in no_records.json()["error"]
        uneven = c.post("/get_reward", json={"query": ["a", "b"], "labels": ["x"]})
        assert uneven.status_code == 400 and "one entry per sample" in uneven.json()["error"]


def test_one_bad_label_is_one_error_row(url: str) -> None:
    deep = "{\"solution\": " * 10_000 + "1" + "}" * 10_000  # nested 10,000 levels
    labels = [
        {"problem_type": "multiple choice", "solution": "B"},
        deep,
        {"problem_type": "multiple choice"},  # no ground truth
        "B",  # a bare ground truth, but the server has no --task
        {"problem_type": "no such task", "solution": "B"},
        {"problem_type": "multiple choice", "solution": "B"},
    ]
    queries = ["<think>t</think><answer>B</answer>"] * len(labels)
    queries[5] = 12345  # not a string
    r = httpx.post(f"{url}/get_reward", trust_env=False, json={"query": queries, "labels": labels})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == ["ok", "error", "error", "error", "error", "error"]
    assert body["rewards"] == [1.5, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert "nested too deeply" in body["reason"][1]
    assert "no ground truth" in body["reason"][2] and "'solution'" in body["reason"][2]
    assert "no task" in body["reason"][3]
    assert "no such task" in body["reason"][4]
    assert "query[5]" in body["reason"][5]
    assert body["extra_logs"]["error"] == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_a_chunked_body_is_read(url: str) -> None:
    body = json.dumps({"records": [record("B", "B", "multiple choice")]}).encode()
    parts = iter([body[:10], body[10:20], body[20:]])  # no Content-Length: chunked encoding
    r = httpx.post(f"{url}/score", content=parts, trust_env=False)
    assert r.status_code == 200 and r.json()["results"][0]["reward"] == 1.5


def test_score_endpoint_matches_the_library(url: str) -> None:
    from unireward import score_batch

    records = [
        record("B", "B", "multiple choice"),
        record("3.14", "3.14159", "numerical"),
        record("[1, 2", '{"time": [1, 2]}', "temporal grounding"),
        {"bad": 1},
        {
            "response": "<answer>2</answer>",
            "solution": "<answer>2</answer>",
            "problem_type": "Math",
        },
    ]
    r = httpx.post(f"{url}/score", trust_env=False, json={"records": records})
    assert r.status_code == 200
    got = r.json()["results"]
    want = [x.to_dict() for x in score_batch(records, errors="record")]
    assert got == want
    assert [x["status"] for x in got] == ["ok", "ok", "malformed_json", "error", "format_error"]


def test_every_error_reply_is_json(url: str) -> None:
    with httpx.Client(base_url=url, trust_env=False) as c:
        replies = {
            "bad json": c.post("/get_reward", content=b"{nope"),
            "not an object": c.post("/get_reward", json=[1, 2]),
            "records not a list": c.post("/score", json={"records": 3}),
            "too deep": c.post("/score", content=b"[" * 200_000),
            "no route": c.get("/nope"),
            "wrong method": c.put("/score", content=b"{}"),
        }
    codes = {k: r.status_code for k, r in replies.items()}
    assert codes == {
        "bad json": 400,
        "not an object": 400,
        "records not a list": 400,
        "too deep": 400,
        "no route": 404,
        "wrong method": 405,
    }
    for r in replies.values():
        assert r.headers["content-type"] == "application/json" and r.json()["error"]
    # a body announced over the limit is refused before it is read; replies written by the
    # HTTP layer itself: a malformed request line, oversized headers
    for raw, status in (
        (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n", 413),
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n", 431),
    ):
        code, headers, body = split_reply(raw_exchange(url, raw))
        assert code == status and headers["content-type"] == "application/json"
        assert json.loads(body)["error"]


def test_bearer_token() -> None:
    with (
        serve_in_thread(ServerConfig(api_key="s3cret")) as base,
        httpx.Client(base_url=base, trust_env=False) as c,
    ):
        body = {"records": [record("B", "B", "multiple choice")]}
        missing = c.post("/score", json=body)
        wrong = c.post("/score", json=body, headers={"Authorization": "Bearer nope"})
        right = c.post("/score", json=body, headers={"Authorization": "Bearer s3cret"})
        assert missing.status_code == wrong.status_code == 401
        assert (
            missing.headers["www-authenticate"] == "Bearer"
            and "bearer token" in missing.json()["error"]
        )
        assert right.status_code == 200 and right.json()["results"][0]["reward"] == 1.5
        assert c.get("/health").status_code == 200  # open to load balancers
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_metrics_count_requests_records_and_latency() -> None:
    parser = need("prometheus_client.parser")
    with serve_in_thread() as base, httpx.Client(base_url=base, trust_env=False) as c:
        c.post("/score", json={"records": [record("B", "B", "multiple choice"), {"x": 1}]})
        c.post("/score", json={"records": [record("A", "B", "multiple choice")]})
        c.post("/score", content=b"{nope")
        c.get("/nope")
        text = c.get("/metrics").text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in parser.text_string_to_metric_families(text) for s in fam.samples}
    assert (
        samples[("unireward_http_requests_total", (("code", "200"), ("endpoint", "/score")))] == 2
    )
    assert (
        samples[("unireward_http_requests_total", (("code", "400"), ("endpoint", "/score")))] == 1
    )
    assert samples[("unireward_http_requests_total", (("code", "404"), ("endpoint", "other")))] == 1
    assert samples[("unireward_records_total", (("endpoint", "/score"), ("status", "ok")))] == 2
    assert samples[("unireward_records_total", (("endpoint", "/score"), ("status", "error")))] == 1
    assert (
        samples[("unireward_http_request_duration_seconds_count", (("endpoint", "/score"),))] == 3
    )
    assert (
        samples[
            (
                "unireward_http_request_duration_seconds_bucket",
                (("endpoint", "/score"), ("le", "+Inf")),
            )
        ]
        == 3
    )


def test_open_ended_rows_go_to_the_reward_model() -> None:
    from remote.polar_server import PolarServer
    from unireward import score_batch
    from unireward.cli._engines import RewardModelSpec
    from unireward.remote import PolarClient

    records = [
        {"completion": "<think>t</think><answer>A man cooks pasta.</answer>",
         "ground_truth": "The man is cooking pasta.", "task": "open-ended", "problem_id": "p"},
        record("B", "B", "multiple choice"),
        {"completion": "<think>t</think><answer>A dog runs.</answer>",
         "ground_truth": "The dog is running.", "problem_type": "open-ended", "problem_id": "p"},
    ]
    with PolarServer() as polar:
        spec = RewardModelSpec(polar.url, max_retries=1)
        with serve_in_thread(ServerConfig(reward_model=spec)) as base:
            got = httpx.post(f"{base}/score", trust_env=False, json={"records": records},
                             timeout=60).json()["results"]
            with PolarClient(base_url=polar.url, max_retries=1) as client:
                want = [r.to_dict() for r in score_batch(records, reward_model=client)]
            assert got == want  # normalised per problem over the whole request, as in-process
            assert len(polar.texts_received) == 4  # two open-ended rows, scored once each way
            polar.queue(["500"] * 10)
            failed = httpx.post(
                f"{base}/score", trust_env=False, json={"records": records}, timeout=60
            )
            assert failed.status_code == 502 and "reward model" in failed.json()["error"]
        with serve_in_thread(
            ServerConfig(reward_model=spec, reward_model_fallback="rouge")
        ) as base:
            polar.queue(["500"] * 10)
            res = httpx.post(f"{base}/score", trust_env=False, json={"records": records},
                             timeout=60).json()["results"]
            assert [r["status"] for r in res] == ["fallback", "ok", "fallback"]


def _doc_blocks(section: str) -> dict[str, list[str]]:
    from .conftest import ROOT

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    part = text[text.index(section):]
    part = part[:part.find("\n## ", 1)] if "\n## " in part[1:] else part
    blocks: dict[str, list[str]] = {}
    pieces = part.split("```")
    for k in range(1, len(pieces), 2):
        lang, _, body = pieces[k].partition("\n")
        blocks.setdefault(lang.strip(), []).append(body)
    return blocks


def test_the_documented_openrlhf_setup(url: str) -> None:
    import asyncio
    import shlex

    from unireward.cli import build_parser

    blocks = _doc_blocks("### OpenRLHF")
    row = json.loads(blocks["json"][0])
    commands = blocks["bash"][0].replace("\\\n", " ").splitlines()
    serve = shlex.split(commands[0].split("#")[0])
    args = build_parser().parse_args(serve[1:])  # the documented server command parses
    assert args.port == 8000 and args.insecure
    trainer = shlex.split(commands[1])
    label_key = trainer[trainer.index("--data.label_key") + 1]
    input_key = trainer[trainer.index("--data.input_key") + 1]
    assert trainer[trainer.index("--reward.remote_url") + 1].endswith(":8000/get_reward")
    prompt, label = row[input_key], row[label_key]
    query = prompt + "<think>the third</think><answer>C</answer>"
    out = asyncio.run(openrlhf_agent_request(f"{url}/get_reward", query, prompt, label))
    assert out["rewards"] == [1.5] and out["status"] == ["ok"]
