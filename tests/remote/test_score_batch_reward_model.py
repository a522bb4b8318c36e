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
    expected = [polar_template(**r["payload_sent_to_rm"]) for rows in batches.values() for r in rows]
    assert sorted(sent) == sorted(expected)


def test_rule_based_tasks_are_not_sent(server: PolarServer) -> None:
    records = [
        {"completion": "<think>t</think><answer>A cat.</answer>", "ground_truth": "A cat sleeps.",
         "task": "captioning", "problem_id": "q", "prompt": "Describe."},
        {"completion": "<think>t</think><answer>3</answer>", "ground_truth": "3", "task": "numerical"},
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
