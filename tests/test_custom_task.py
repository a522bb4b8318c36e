"""A task defined in one place (the class below, registered with ``register_task``) gets
what a built-in task gets: scoring, batch scoring, its answer schema, EMA keys, the
property tests of ``check_reward`` and a benchmark family in reports."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import strategies as st

import unireward
from unireward.advantage import task_keys
from unireward.errors import GroundTruthError
from unireward.report import build_report
from unireward.report._benchmarks import family_of
from unireward.result import Status, TaskOutcome
from unireward.schemas import ANSWER_ADAPTERS, schema_reason
from unireward.testing import TaskSpec, check_reward


class CountSpec(TaskSpec):
    """Property-test knowledge of the count task: truths are small counts."""

    def truths(self):  # type: ignore[no-untyped-def]
        return st.integers(0, 10_000)

    def wrong(self, truth):  # type: ignore[no-untyped-def]
        return [*super().wrong(truth), ("one more", str(truth + 1))]


@unireward.register_task
class ObjectCountScorer(unireward.TaskScorer):
    """Counting objects: accuracy 1 - |p - g| / max(1, g), clipped at 0; the EMA keys
    split by data type, the report shows the task among the IoU-style families."""

    name = "object count"
    aliases = ("count",)
    check_spec = CountSpec
    report_family = "spatial grounding"

    def prepare_ground_truth(self, ground_truth, data_type):  # type: ignore[no-untyped-def]
        text = str(ground_truth).strip()
        if not (text.isascii() and text.isdigit()):
            raise GroundTruthError(f"object count ground truth {text!r} is not a count")
        return int(text)

    def ema_key(self, task: str, data_type: str | None, *, strict: bool) -> str:
        return f"{task}/{data_type}"

    def score_many(self, answers, truths, data_types, options):  # type: ignore[no-untyped-def]
        out = []
        for a, g in zip(answers, truths, strict=True):
            if not (a.isascii() and a.isdigit()):
                out.append(TaskOutcome(0.0, 0.5, Status.PARSE_ERROR, "not a count"))
            else:
                out.append(TaskOutcome(max(0.0, 1.0 - abs(int(a) - g) / max(1, g)), 0.5))
        return out


@pytest.fixture(scope="module", autouse=True)
def _registered() -> Iterator[None]:
    yield
    unireward.unregister_task("object count")


def _completion(answer: str) -> str:
    return f"<think>counting</think><answer>{answer}</answer>"


def test_score_and_batch_agree() -> None:
    r = unireward.score(_completion("3"), "4", "Object_Count")
    assert (r.accuracy, r.structure, r.status) == (0.75, 0.5, Status.OK)
    assert r.total == pytest.approx(0.9 * 0.75 + 0.1 + 0.5)
    records = [
        {"completion": _completion(a), "ground_truth": "4", "task": "count"}
        for a in ("4", "3", "many")
    ]
    batch = unireward.score_batch(records)
    assert batch == [unireward.score(x["completion"], "4", "count") for x in records]
    assert [b.accuracy for b in batch] == [1.0, 0.75, 0.0]
    assert batch[2].status is Status.PARSE_ERROR
    refused = unireward.score(_completion("3"), "four", "count")
    assert refused.status is Status.GROUND_TRUTH_ERROR and refused.accuracy == 0.0


def test_ema_keys_follow_the_task() -> None:
    keys = task_keys(["object count", "object count", "OCR"], ["image", "video", "image"])
    assert keys == ["object count/image", "object count/video", "OCR"]


def test_report_family() -> None:
    assert family_of("Object_Count") == "spatial grounding"
    rows = [
        {
            "task": "object count",
            "problem_id": "p",
            "reward": 0.9 * a + 0.6,
            "accuracy": a,
            "format": 1.0,
            "structure": 0.5,
            "status": "ok",
            "completion": _completion("1"),
        }
        for a in (1.0, 0.25)
    ]
    table = build_report(rows).summary()["benchmarks"]
    assert table["spatial grounding"]["object count"]["Acc@0.5"] == 0.5
    assert table["spatial grounding"]["object count"]["mIoU"] == pytest.approx(0.625)


def test_check_reward_runs_the_property_tests() -> None:
    def reward(completion, ground_truth, task, data_type=None):  # type: ignore[no-untyped-def]
        return unireward.score(completion, ground_truth, task, data_type=data_type).total

    report = check_reward(reward, "object count", max_examples=15)
    ran = [r for r in report.results if r.outcome != "skipped"]
    assert ran and all(r.outcome == "pass" for r in ran), report.text()

    def broken(completion, ground_truth, task, data_type=None):  # type: ignore[no-untyped-def]
        return 1.5 if "<answer>" in completion else 0.0  # ignores the answer

    assert any(r.outcome == "fail" for r in check_reward(broken, "count", max_examples=15).results)


def test_answer_schema_comes_from_the_scorer() -> None:
    assert "object count" not in ANSWER_ADAPTERS  # no model declared
    assert "temporal grounding" in ANSWER_ADAPTERS
    reason = schema_reason("segmentation/image", json.loads('{"boxes": [1, 2, 3, 4]}'))
    assert reason.startswith("positive_points: Field required")


def test_register_task_refuses_what_is_not_a_scorer() -> None:
    with pytest.raises(unireward.errors.ConfigurationError, match="instance or subclass"):
        unireward.register_task(object)  # type: ignore[type-var]


class _RecordingItemScorer(unireward.ItemScorer):
    """Exact-string match; records what it is handed."""

    name = "exact word"

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    def prepare_ground_truth(self, ground_truth, data_type):  # type: ignore[no-untyped-def]
        return str(ground_truth).strip().lower()

    def grade(self, answer: str, truth: object) -> TaskOutcome:
        self.seen.append((answer, truth))
        return TaskOutcome(1.0 if answer.strip().lower() == truth else 0.0, 0.5)


def test_an_item_scorer_grades_each_extracted_answer_against_its_prepared_truth() -> None:
    scorer = _RecordingItemScorer()
    unireward.register_task(scorer)
    try:
        records = [
            {
                "completion": f"<think>t</think><answer>{a}</answer>",
                "ground_truth": g,
                "task": "exact word",
            }
            for a, g in [("Cat", " CAT "), ("dog", "cat"), (" cat ", "Cat")]
        ]
        batch = unireward.score_batch(records)
        assert [r.accuracy for r in batch] == [1.0, 0.0, 1.0]
        assert [r.total for r in batch] == [1.5, 0.6, 1.5]
        # the extracted answers against the prepared truths
        assert scorer.seen == [("Cat", "cat"), ("dog", "cat"), ("cat", "cat")]  # answers stripped
        one = unireward.score(records[0]["completion"], " CAT ", "exact word")
        assert one == batch[0]
    finally:
        unireward.unregister_task("exact word")
