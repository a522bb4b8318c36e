"""EasyR1's batch reward function, checked against the reference vectors."""

from __future__ import annotations

import pytest

from unireward.integrations.easyr1 import compute_score

DELIBERATE = {"captioning", "open_ended_polar_path"}  # see reward-spec.md


def _inputs(rows: list[dict], task_key: str = "problem_type") -> list[dict]:
    return [{"response": r["completion"], "response_length": len(r["completion"]),
             "ground_truth": r["ground_truth"], task_key: r["problem_type"], "data_type": r["data_type"]}
            for r in rows]


def test_reference_rows_through_easyr1(reference_rows: list[dict]) -> None:
    rows = [r for r in reference_rows if r["task"] not in DELIBERATE]
    out = compute_score(_inputs(rows))
    assert len(out) == len(rows) >= 35
    for row, got in zip(rows, out, strict=True):
        assert set(got) >= {"overall", "format", "accuracy"}
        assert all(isinstance(v, float) for v in got.values())  # EasyR1 averages every key
        assert got["overall"] == pytest.approx(row["expected_reward"], abs=1e-6), row["notes"]
        assert got["accuracy"] == pytest.approx(row["components"]["accuracy"], abs=1e-6)
        assert got["format"] == pytest.approx(row["components"]["format"], abs=1e-6)


def test_task_key_is_configurable_and_format_weight_applies(reference_rows: list[dict]) -> None:
    row = next(r for r in reference_rows if r["task"] == "multiple_choice" and r["expected_reward"] == 1.5)
    [got] = compute_score(_inputs([row], task_key="kind"), task_key="kind")
    assert got["overall"] == 1.5
    # format_weight w: overall = (1 - w) * accuracy + w * format + structure for a correct choice
    [heavy] = compute_score(_inputs([row]), format_weight=0.5)
    assert heavy["overall"] == pytest.approx(0.5 * 1.0 + 0.5 * 1.0 + 0.5)
    [fixed] = compute_score([{"response": row["completion"], "ground_truth": row["ground_truth"]}],
                            default_task="multiple choice")
    assert fixed["overall"] == 1.5


def test_unscorable_rows_do_not_sink_the_batch() -> None:
    good = {"response": "<think>t</think><answer>4</answer>", "ground_truth": "4", "problem_type": "numerical"}
    bad = {"response": "<think>t</think><answer>4</answer>", "ground_truth": "four", "problem_type": "numerical"}
    unknown = {"response": "x", "ground_truth": "4", "problem_type": "no such task"}
    out = compute_score([good, bad, unknown, {"response": "<answer>4</answer>"}])
    assert out[0]["overall"] == 1.5
    # a bad ground truth gets the reference's numbers (accuracy 0, format and structure as usual)
    assert [o["overall"] for o in out[1:]] == [pytest.approx(0.6), 0.0, 0.0]
