"""The reward model inside unireward.score_batch, against the real test server."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

import unireward
from unireward import RemoteRewardError, Status
from unireward.remote import PolarClient, polar_template

from .polar_server import PolarServer


def _script(server: PolarServer, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        p = row["payload_sent_to_rm"]
        text = polar_template(p["prompt"], p["reference"], p["output"])
        server.scores[text] = row["scripted_rm_scores_for_batch"][row["index_in_batch"]]


def test_reference_batches_through_score_batch(server: PolarServer, polar_rows: list[dict]) -> None:
    batches: dict[str, list[dict]] = defaultdict(list)
    for row in polar_rows:
        batches[row["batch_name"]].append(row)
    with PolarClient(base_url=server.url, backend="vllm") as client:
        for rows in batches.values():
            rows.sort(key=lambda r: r["index_in_batch"])
            _script(server, rows)
            records = [
                {"completion": r["completion"], "ground_truth": r["ground_truth"],
                 "problem_type": r["problem_type"], "data_type": r["data_type"],
                 "problem_id": r["problem_id"],
                 "problem_reserved_text": r["payload_sent_to_rm"]["prompt"]}
                for r in rows
            ]
            results = unireward.score_batch(
                records, reward_model=client,
                normalize_by_problem_id=rows[0]["normalize_model_reward_by_problem_id"],
            )
            for r, res in zip(rows, results, strict=True):
                assert res.total == pytest.approx(r["expected_reward"], abs=1e-6)
                assert res.accuracy == pytest.approx(r["components"]["accuracy"], abs=1e-6)
                assert res.format == r["components"]["format"]
    sent = server.texts_received
    expected = [
        polar_template(**r["payload_sent_to_rm"]) for rows in batches.values() for r in rows
    ]
    assert sorted(sent) == sorted(expected)


def test_rule_based_tasks_are_not_sent(server: PolarServer) -> None:
    records = [
        {
            "completion": "<think>t</think><answer>A cat.</answer>",
            "ground_truth": "A cat sleeps.",
            "task": "captioning",
            "problem_id": "q",
            "prompt": "Describe.",
        },
        {
            "completion": "<think>t</think><answer>3</answer>",
            "ground_truth": "3",
            "task": "numerical",
        },
    ]
    with PolarClient(base_url=server.url) as client:
        res = unireward.score_batch(records, reward_model=client)
    assert len(server.texts_received) == 1
    assert res[1].total == 1.5
    assert res[0].accuracy == 1.0  # one sample in its group: all-equal -> 1.0


def test_failing_server_raises_or_falls_back(server: PolarServer) -> None:
    records = [
        {"completion": "<think>t</think><answer>A man cooks pasta.</answer>",
         "ground_truth": "The man is cooking pasta.", "task": "open-ended", "problem_id": "p"},
        {"completion": "no tags at all", "ground_truth": "The man is cooking pasta.",
         "task": "open-ended", "problem_id": "p"},
    ]
    server.queue(["500"] * 20)
    with PolarClient(base_url=server.url, max_retries=1, backoff=0.01) as client:
        with pytest.raises(RemoteRewardError):
            unireward.score_batch(records, reward_model=client)
    server.queue(["500"] * 20)
    with PolarClient(base_url=server.url, max_retries=1, backoff=0.01) as client:
        res = unireward.score_batch(records, reward_model=client, reward_model_fallback="rouge")
        assert client.stats.fallback_samples == 2
    assert [r.status for r in res] == [Status.FALLBACK, Status.FALLBACK]
    assert all(r.reason for r in res)
    assert 0.0 <= res[0].accuracy <= 1.0


def _polar_records(rows: list[dict]) -> list[dict[str, Any]]:
    return [
        {"completion": r["completion"], "ground_truth": r["ground_truth"],
         "problem_type": r["problem_type"], "data_type": r["data_type"],
         "problem_id": r["problem_id"], "problem_reserved_text": r["payload_sent_to_rm"]["prompt"]}
        for r in rows
    ]


def test_ascore_batch_matches_the_reference_and_score_batch(
    server: PolarServer, polar_rows: list[dict]
) -> None:
    """The async path with an AsyncPolarClient gives the reference rewards and exactly what
    score_batch gives with a PolarClient, rule-based rows mixed in."""
    import asyncio

    from unireward.remote import AsyncPolarClient

    batches: dict[str, list[dict]] = defaultdict(list)
    for row in polar_rows:
        batches[row["batch_name"]].append(row)
    extra = [
        {
            "completion": "<think>t</think><answer>3</answer>",
            "ground_truth": "3",
            "task": "numerical",
        },
        {
            "completion": '<think>t</think><answer>{"time": [1, 3]}</answer>',
            "ground_truth": '{"time": [2, 4]}',
            "task": "temporal grounding",
        },
    ]
    for rows in batches.values():
        rows.sort(key=lambda r: r["index_in_batch"])
        _script(server, rows)
        records = _polar_records(rows) + extra
        norm = rows[0]["normalize_model_reward_by_problem_id"]

        async def main(
            records: list[dict] = records, norm: bool = norm
        ) -> list[unireward.RewardResult]:
            async with AsyncPolarClient(base_url=server.url, batch_size=2) as client:
                return await unireward.ascore_batch(
                    records, reward_model=client, normalize_by_problem_id=norm
                )

        got = asyncio.run(main())
        for r, res in zip(rows, got, strict=False):
            assert res.total == pytest.approx(r["expected_reward"], abs=1e-6)
            assert res.accuracy == pytest.approx(r["components"]["accuracy"], abs=1e-6)
        assert [r.total for r in got[-2:]] == [1.5, 0.9 / 3 + 0.1 + 0.5]
        with PolarClient(base_url=server.url) as sync_client:
            assert got == unireward.score_batch(
                records, reward_model=sync_client, normalize_by_problem_id=norm
            )
            # a sync client works in ascore_batch too (called in a worker thread)
            assert got == asyncio.run(
                unireward.ascore_batch(
                    records, reward_model=sync_client, normalize_by_problem_id=norm
                )
            )


def test_ascore_batch_keeps_the_event_loop_free(slow_server: PolarServer) -> None:
    """While the reward model answers slowly (0.2 s a request), other coroutines run, and
    the requests of both open-ended task groups are in flight together."""
    import asyncio
    import time

    from unireward.remote import AsyncPolarClient

    records = [
        {"completion": f"<think>t</think><answer>answer {i}</answer>", "ground_truth": "ref",
         "task": "open-ended" if i % 2 else "captioning", "problem_id": f"p{i % 4}", "prompt": "Q"}
        for i in range(16)
    ]

    async def main() -> tuple[list[unireward.RewardResult], int, float, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async with AsyncPolarClient(
            base_url=slow_server.url, batch_size=2, max_concurrency=8
        ) as client:
            await unireward.ascore_batch(records[:1], reward_model=client)  # imports, connection
            slow_server.max_in_flight = 0
            sent_before = len(slow_server.texts_received)
            task = asyncio.create_task(ticker())
            start = time.perf_counter()
            res = await unireward.ascore_batch(records, reward_model=client)
            elapsed = time.perf_counter() - start
            task.cancel()
        return res, ticks, elapsed, sent_before

    res, ticks, elapsed, sent_before = asyncio.run(main())
    assert len(slow_server.texts_received) - sent_before == 16
    assert all(r.status is Status.OK and 0.0 <= r.accuracy <= 1.0 for r in res)
    assert slow_server.max_in_flight > 4  # 4 requests of 2 per group: both groups at once
    assert elapsed < 8 * 0.2  # not eight requests one after another
    assert ticks >= 5  # the loop kept running while the server was slow


def test_clients_are_checked_before_any_work(server: PolarServer) -> None:
    import asyncio

    from unireward import ConfigurationError
    from unireward.remote import AsyncPolarClient

    recs = [{"completion": "<answer>x</answer>", "ground_truth": "x", "task": "numerical"}]
    client = AsyncPolarClient(base_url=server.url)
    with pytest.raises(ConfigurationError, match="ascore_batch"):
        unireward.score_batch(recs, reward_model=client)
    asyncio.run(client.aclose())
    with pytest.raises(ConfigurationError, match="reward_model must be"):
        asyncio.run(unireward.ascore_batch(recs, reward_model="http://rm"))
    with pytest.raises(ConfigurationError, match="errors"):
        asyncio.run(unireward.ascore_batch(recs, errors="ignore"))  # type: ignore[arg-type]


def test_ascore_batch_falls_back_or_raises(server: PolarServer) -> None:
    import asyncio

    from unireward.remote import AsyncPolarClient

    records = [
        {"completion": "<think>t</think><answer>A man cooks pasta.</answer>",
         "ground_truth": "The man is cooking pasta.", "task": "open-ended", "problem_id": "p"},
    ] * 3

    async def run(fallback: str | None) -> tuple[list[unireward.RewardResult], int]:
        async with AsyncPolarClient(base_url=server.url, max_retries=1, backoff=0.01) as client:
            res = await unireward.ascore_batch(
                records, reward_model=client, reward_model_fallback=fallback
            )
            return res, client.stats.fallback_samples

    server.queue(["500"] * 20)
    with pytest.raises(RemoteRewardError):
        asyncio.run(run(None))
    server.queue(["500"] * 20)
    res, fell_back = asyncio.run(run("rouge"))
    assert fell_back == 3
    assert [r.status for r in res] == [Status.FALLBACK] * 3 and all(r.reason for r in res)
