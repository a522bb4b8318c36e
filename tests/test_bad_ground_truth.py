"""A dataset's bad ground truth is scored as the reference scores it, flagged, counted and
logged once; ``errors="raise"`` opts into raising.

Expected numbers are worked out by hand from the reference's rules (reward-spec.md): the
accuracy of a row whose truth cannot be read is 0; the format reward and the structure
reward come from the completion as usual (the structure of tracking and spatial-temporal
grounding counts the truth's frame keys where they can be read).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import pytest

import unireward
from unireward import GroundTruthError, Status

T = "<think>t</think>"


def ans(obj: object) -> str:
    return f"{T}<answer>{obj if isinstance(obj, str) else json.dumps(obj)}</answer>"


SEG_VIDEO_ANSWER = {
    "time": 3.0,
    "boxes": [1, 2, 30, 40],
    "positive_points": [[5, 5], [6, 6], [7, 7]],
    "negative_points": [[50, 50], [60, 60], [70, 70]],
}
SEG_TRUTH_NO_TIME = {
    "boxes": [1, 2, 30, 40],
    "positive_points": [[5, 5], [6, 6], [7, 7]],
    "negative_points": [[50, 50], [60, 60], [70, 70]],
}

# (completion, ground truth, task, data type, (total, accuracy, format, structure))
CASES = [
    pytest.param(
        ans("229"), "229 meters", "regression", None, (0.6, 0.0, 1.0, 0.5), id="regression-units"
    ),
    pytest.param(
        f"{T}<answer>229</answer> trailing",
        "229 m",
        "numerical",
        None,
        (0.0, 0.0, 0.0, 0.0),
        id="numerical-format-fails",
    ),
    pytest.param(
        ans("C"), {"option": "C"}, "multiple choice", None, (0.6, 0.0, 1.0, 0.5), id="choice-dict"
    ),
    pytest.param(
        ans(SEG_VIDEO_ANSWER),
        json.dumps(SEG_TRUTH_NO_TIME),
        "segmentation",
        "video",
        (0.6, 0.0, 1.0, 0.5),
        id="segmentation-video-no-time",
    ),
    pytest.param(
        ans(SEG_TRUTH_NO_TIME),
        json.dumps(SEG_TRUTH_NO_TIME),
        "segmentation",
        "video",
        (0.1, 0.0, 1.0, 0.0),
        id="segmentation-video-no-time-answer-without-time",
    ),
    pytest.param(
        ans({"time": [1, 3]}),
        '{"boxes": [1, 2, 3, 4]}',
        "temporal grounding",
        None,
        (0.6, 0.0, 1.0, 0.5),
        id="temporal-no-time",
    ),
    pytest.param(
        ans("[1, 3]"),
        '{"boxes": [1, 2, 3, 4]}',
        "temporal grounding",
        None,
        (0.1, 0.0, 1.0, 0.0),
        id="temporal-no-time-bad-answer",
    ),
    pytest.param(
        ans({"boxes": [0, 0, 1, 1]}),
        "{oops",
        "spatial grounding",
        None,
        (0.6, 0.0, 1.0, 0.5),
        id="spatial-not-json",
    ),
    pytest.param(
        ans({"boxes": {"1": [0, 0, 1, 1]}}),
        {"boxes": {"1": "bad", "2": [0, 0, 1, 1]}},
        "tracking",
        "video",
        (0.475, 0.0, 1.0, 0.375),
        id="tracking-bad-frame-keys-count",
    ),
    pytest.param(
        ans({"boxes": {"1": [0, 0, 1, 1]}}),
        "not json",
        "tracking",
        "video",
        (0.35, 0.0, 1.0, 0.25),
        id="tracking-not-json",
    ),
    pytest.param(
        ans({"time": [0, 1], "boxes": {"3": [0, 0, 1, 1]}}),
        {"boxes": {"3": [10, 10, 20, 20], "4": [10, 10, 20, 20]}},
        "spatial-temporal grounding",
        "video",
        (0.475, 0.0, 1.0, 0.375),
        id="spatiotemporal-no-time",
    ),
    pytest.param(ans("hello"), {"text": "hello"}, "OCR", None, (0.6, 0.0, 1.0, 0.5), id="ocr-dict"),
    pytest.param(
        "hello", ["a"], "open-ended", None, (0.0, 0.0, 0.0, 0.0), id="open-ended-list-no-tags"
    ),
]


@pytest.mark.parametrize(("completion", "truth", "task", "data_type", "expected"), CASES)
def test_scored_as_the_reference(completion, truth, task, data_type, expected) -> None:  # type: ignore[no-untyped-def]
    r = unireward.score(completion, truth, task, data_type=data_type)
    assert (r.total, r.accuracy, r.format, r.structure) == pytest.approx(expected, abs=1e-12)
    assert r.status is Status.GROUND_TRUTH_ERROR
    assert r.issues[0] is Status.GROUND_TRUTH_ERROR
    assert (r.reason or "").startswith("GroundTruthError: ")
    if expected[2] == 0.0:
        assert Status.FORMAT_ERROR in r.issues
    with pytest.raises(GroundTruthError):
        unireward.score(completion, truth, task, data_type=data_type, errors="raise")


def _records() -> list[dict]:
    recs = []
    for p in CASES:
        completion, truth, task, data_type, _ = p.values
        recs.append(
            {"completion": completion, "ground_truth": truth, "task": task, "data_type": data_type}
        )
        # a good row between the bad ones keeps its own score
        recs.append({"completion": ans("B"), "ground_truth": "B", "task": "multiple choice"})
    return recs


def test_batches_equal_score_and_never_stop() -> None:
    recs = _records()
    one_by_one = [
        unireward.score(r["completion"], r["ground_truth"], r["task"], data_type=r["data_type"])
        for r in recs[0::2]
    ]
    batch = unireward.score_batch(recs)
    assert len(batch) == len(recs)
    assert batch[0::2] == one_by_one
    assert all(r.total == 1.5 and r.ok for r in batch[1::2])
    assert asyncio.run(unireward.ascore_batch(recs)) == batch
    # rollouts of one prompt share the truth: every copy is scored, not only the first
    eight = unireward.score_batch([recs[0]] * 8)
    assert [r.total for r in eight] == [0.6] * 8


def test_errors_raise_opts_in() -> None:
    recs = _records()
    with pytest.raises(GroundTruthError, match="record 0: regression ground truth '229 meters'"):
        unireward.score_batch(recs, errors="raise")
    with pytest.raises(GroundTruthError, match="record 0"):
        asyncio.run(unireward.ascore_batch(recs, errors="raise"))
    with pytest.raises(unireward.ConfigurationError, match="errors must be"):
        unireward.score(ans("1"), "1", "numerical", errors="ignore")  # type: ignore[arg-type]


def test_each_distinct_bad_truth_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    bad1 = f"{uuid.uuid4()} meters"
    bad2 = f"{uuid.uuid4()} seconds"
    rec = {"completion": ans("3"), "ground_truth": bad1, "task": "regression"}
    with caplog.at_level(logging.WARNING, logger="unireward.api"):
        unireward.score_batch([rec] * 8)
        unireward.score(ans("3"), bad1, "regression")
        unireward.score_batch([rec, {**rec, "ground_truth": bad2}, {**rec, "ground_truth": bad2}])
    texts = [r.getMessage() for r in caplog.records if r.name == "unireward.api"]
    assert sum(bad1 in t for t in texts) == 1
    assert sum(bad2 in t for t in texts) == 1
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "unireward.api")


def test_trainer_adapters_get_the_reference_numbers() -> None:
    # verl's entry points are checked in tests/integrations/test_verl.py (verl environment)
    from unireward.integrations import easyr1
    from unireward.integrations.rewards import UniRewardFunction

    out = easyr1.compute_score(
        [
            {
                "response": ans("229"),
                "response_length": 3,
                "ground_truth": "229 meters",
                "problem_type": "regression",
            }
        ]
    )
    assert out[0]["overall"] == pytest.approx(0.6) and out[0]["accuracy"] == 0.0
    fn = UniRewardFunction()
    assert fn(
        prompts=["q"],
        completions=[ans("229")],
        solution=["229 meters"],
        problem_type=["regression"],
    ) == [pytest.approx(0.6)]
