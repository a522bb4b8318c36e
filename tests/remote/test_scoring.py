"""reward_model_accuracies / areward_model_accuracies against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from unireward.errors import ConfigurationError, RemoteConnectionError, RemoteStatusError
from unireward.remote import (
    AsyncPolarClient,
    PolarClient,
    areward_model_accuracies,
    reward_model_accuracies,
)
from unireward.result import Status

from .polar_server import PolarServer, default_score

pytestmark = pytest.mark.integration


def spec_string(prompt: str, reference: str, output: str) -> str:
    return prompt + "\n" + reference + "<|reward|>" + prompt + "\n" + output + "[UNUSED_TOKEN_130]"


def batches(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["batch_name"], []).append(r)
    return {k: sorted(v, key=lambda r: r["index_in_batch"]) for k, v in out.items()}


def run_vector_batch(rows: list[dict[str, Any]], server: PolarServer,
                     use_async: bool) -> list[tuple[float, Status, str | None]]:
    payloads = [r["payload_sent_to_rm"] for r in rows]
    for p, score in zip(payloads, rows[0]["scripted_rm_scores_for_batch"], strict=True):
        server.scores[spec_string(p["prompt"], p["reference"], p["output"])] = score
    kwargs: dict[str, Any] = dict(
        prompts=[p["prompt"] for p in payloads], references=[p["reference"] for p in payloads],
        outputs=[p["output"] for p in payloads], problem_ids=[r["problem_id"] for r in rows],
        normalize_by_problem_id=rows[0]["normalize_model_reward_by_problem_id"])
    if not use_async:
        with PolarClient(base_url=server.url) as rm:
            return reward_model_accuracies(rm, **kwargs)

    async def main() -> list[tuple[float, Status, str | None]]:
        async with AsyncPolarClient(base_url=server.url, batch_size=2) as rm:
            return await areward_model_accuracies(rm, **kwargs)

    return asyncio.run(main())


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_reference_vectors(polar_rows: list[dict[str, Any]], use_async: bool) -> None:
    groups = batches(polar_rows)
    assert set(groups) == {"polar_norm_group", "polar_no_norm"}
    for rows in groups.values():
        with PolarServer() as srv:
            got = run_vector_batch(rows, srv, use_async)
        # the server received exactly the spec encoding of payload_sent_to_rm (in order for the
        # sync client; the async one sends its batches concurrently)
        expected = [
            spec_string(r["payload_sent_to_rm"]["prompt"], r["payload_sent_to_rm"]["reference"],
                        r["payload_sent_to_rm"]["output"]) for r in rows]
        if use_async:
            assert sorted(srv.texts_received) == sorted(expected)
        else:
            assert srv.texts_received == expected
        for (acc, status, reason), row in zip(got, rows, strict=True):
            assert acc == pytest.approx(row["components"]["accuracy"], abs=1e-6)
            assert (status, reason) == (Status.OK, None)
            comp = row["components"]
            overall = 0.9 * acc + 0.1 * comp["format"] + comp["structure_reward"]
            assert overall == pytest.approx(row["expected_reward"], abs=1e-6)


def test_normalised_values_are_float32_exact(polar_rows: list[dict[str, Any]]) -> None:
    rows = batches(polar_rows)["polar_norm_group"]
    with PolarServer() as srv:
        got = run_vector_batch(rows, srv, use_async=False)
    assert [a for a, _, _ in got] == [r["components"]["accuracy"] for r in rows]


def four_items(server: PolarServer, scores: list[float]) -> dict[str, Any]:
    outs = ["o0", "o1", "o2", "o3"]
    for o, s in zip(outs, scores, strict=True):
        server.scores[spec_string("Q", "R", o)] = s
    return dict(prompts=["Q"] * 4, references=["R"] * 4, outputs=outs)


@pytest.mark.parametrize(
    ("ids", "normalize", "expected"),
    [
        # raw = [0.2, 0.6 (ROUGE, first batch failed), 3.0, -1.0 (model)]
        (["a", "a", "b", "b"], True, [0.0, 1.0, 1.0, 0.0]),
        (["p"] * 4, True, [0.3, 0.4, 1.0, 0.0]),  # (v + 1) / 4: one group, as the reference
        (["p"] * 4, False, [0.2, 0.6, 1.0, 0.0]),
    ],
)
def test_fallback_replaces_failed_batches(server: PolarServer, ids: list[str], normalize: bool,
                                          expected: list[float]) -> None:
    data = four_items(server, [9.9, 9.9, 3.0, -1.0])
    server.queue(["500", "500"])  # both attempts of the first batch
    with PolarClient(base_url=server.url, batch_size=2, max_retries=1, backoff=0.001) as rm:
        got = reward_model_accuracies(rm, **data, problem_ids=ids,
                                      normalize_by_problem_id=normalize, fallback="rouge",
                                      fallback_scores=[0.2, 0.6, 0.05, 0.05])
        stats = rm.stats
    assert [a for a, _, _ in got] == pytest.approx(expected, abs=1e-5)
    assert [s for _, s, _ in got] == [Status.FALLBACK, Status.FALLBACK, Status.OK, Status.OK]
    reason = got[0][2] or ""
    assert "RemoteStatusError" in reason and "HTTP 500" in reason
    assert got[2][2] is None
    assert (stats.fallback_samples, stats.failed_batches, stats.requests) == (2, 1, 3)


def test_fallback_when_the_server_is_gone() -> None:
    srv = PolarServer()
    url = srv.url
    srv.stop()
    with PolarClient(base_url=url, batch_size=2, max_retries=1, backoff=0.001) as rm:
        got = reward_model_accuracies(rm, prompts=["Q"] * 3, references=["R"] * 3,
                                      outputs=["a", "b", "c"], problem_ids=["p", "p", "q"],
                                      normalize_by_problem_id=False, fallback="rouge",
                                      fallback_scores=[0.1, 0.5, float("nan")])
        assert rm.stats.fallback_samples == 3 and rm.stats.failed_batches == 2
    assert [a for a, _, _ in got] == [0.1, 0.5, 0.0]  # a non-finite fallback counts 0
    assert all(s is Status.FALLBACK and "RemoteConnectionError" in (r or "") for _, s, r in got)


def test_without_fallback_the_error_is_raised(server: PolarServer) -> None:
    data = four_items(server, [1.0, 2.0, 3.0, 4.0])
    server.queue(["500"] * 3)
    with PolarClient(base_url=server.url, batch_size=2, max_retries=2, backoff=0.001) as rm:
        with pytest.raises(RemoteStatusError) as info:
            reward_model_accuracies(rm, **data, problem_ids=["p"] * 4)
        assert rm.stats.fallback_samples == 0
    assert info.value.request.n_texts == 2 and info.value.request.attempts == 3
    assert len(server.requests) == 3  # the second batch was never sent


def test_none_problem_ids_are_one_group(server: PolarServer) -> None:
    data = four_items(server, [1.0, 2.0, 3.0, 5.0])
    with PolarClient(base_url=server.url) as rm:
        got = reward_model_accuracies(rm, **data, problem_ids=[None, None, "x", None])
    # None group: [1, 2, 5] -> (v - 1) / 4; "x" alone -> 1.0
    assert [a for a, _, _ in got] == pytest.approx([0.0, 0.25, 1.0, 1.0], abs=1e-6)


def test_empty_batch_sends_nothing(server: PolarServer) -> None:
    with PolarClient(base_url=server.url) as rm:
        assert reward_model_accuracies(rm, prompts=[], references=[], outputs=[],
                                       problem_ids=[]) == []
    assert server.requests == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"problem_ids": ["p"]},
        {"outputs": ["a"]},
        {"fallback": "bleu"},
        {"fallback": "rouge"},
        {"fallback": "rouge", "fallback_scores": [0.1]},
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = dict(prompts=["Q", "Q"], references=["R", "R"], outputs=["a", "b"],
                                problem_ids=["p", "p"]) | kwargs
    with PolarClient(base_url="http://127.0.0.1:9") as rm, pytest.raises(ConfigurationError):
        reward_model_accuracies(rm, **args)


def test_client_kind_must_match() -> None:
    args: dict[str, Any] = dict(prompts=[], references=[], outputs=[], problem_ids=[])
    with pytest.raises(ConfigurationError, match="PolarClient"):
        reward_model_accuracies(
            AsyncPolarClient(base_url="http://127.0.0.1:9"),  # type: ignore[arg-type]
            **args,
        )
    with PolarClient(base_url="http://127.0.0.1:9") as rm, pytest.raises(ConfigurationError):
        asyncio.run(areward_model_accuracies(rm, **args))  # type: ignore[arg-type]


def test_async_fallback_and_concurrency(slow_server: PolarServer) -> None:
    data = four_items(slow_server, [0.5, 0.5, 0.25, 0.75])
    slow_server.queue(["drop"])  # the first request to arrive fails for good (max_retries=0)

    async def main() -> tuple[list[tuple[float, Status, str | None]], int]:
        async with AsyncPolarClient(base_url=slow_server.url, batch_size=1, max_retries=0,
                                    max_concurrency=4) as rm:
            got = await areward_model_accuracies(
                rm, **data, problem_ids=["p"] * 4, normalize_by_problem_id=False,
                fallback="rouge", fallback_scores=[0.0, 0.0, 0.0, 0.0])
            return got, rm.stats.fallback_samples

    got, fallbacks = asyncio.run(main())
    assert fallbacks == 1 and slow_server.max_in_flight == 4
    statuses = [s for _, s, _ in got]
    assert statuses.count(Status.FALLBACK) == 1
    for (acc, status, reason), model in zip(got, [0.5, 0.5, 0.25, 0.75], strict=True):
        if status is Status.FALLBACK:
            assert acc == 0.0 and "RemoteConnectionError" in (reason or "")
        else:
            assert acc == model and reason is None


def test_async_without_fallback_raises(server: PolarServer) -> None:
    data = four_items(server, [1.0, 2.0, 3.0, 4.0])
    server.queue(["drop"])

    async def main() -> None:
        async with AsyncPolarClient(base_url=server.url, max_retries=0) as rm:
            await areward_model_accuracies(rm, **data, problem_ids=["p"] * 4)

    with pytest.raises(RemoteConnectionError):
        asyncio.run(main())


def test_default_scores_are_used_for_unscripted_texts(server: PolarServer) -> None:
    with PolarClient(base_url=server.url) as rm:
        got = reward_model_accuracies(rm, prompts=["Q"], references=["R"], outputs=["zz"],
                                      problem_ids=["p"], normalize_by_problem_id=False)
    raw = default_score(spec_string("Q", "R", "zz"))
    assert got == [(min(1.0, max(0.0, raw)), Status.OK, None)]
