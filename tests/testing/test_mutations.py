"""The mutation test: every planted bug is reported by the default ``check_reward(fn, task)``;
correct reward functions (unireward's own and the plain ones written from the spec) are not."""

from __future__ import annotations

from typing import Any

import pytest

import unireward
from unireward.testing import check_reward

from . import plain
from .planted import BUGS


def _name(entry: Any) -> str:
    return getattr(entry, "__name__", type(entry).__name__)


@pytest.mark.parametrize(("entry", "task", "expected"), BUGS, ids=[_name(b[0]) for b in BUGS])
def test_planted_bug_is_reported(entry: Any, task: str, expected: set[str]) -> None:
    fn = entry() if isinstance(entry, type) else entry
    report = check_reward(fn, task)
    failed = {r.name for r in report.failures}
    assert failed & expected, (
        f"expected one of {sorted(expected)} to fail, got {sorted(failed)}\n{report}"
    )
    for r in report.failures:  # every failure shows the calls behind it
        assert r.violation is not None and r.violation.calls
        text = report.text()
        assert f"[ FAIL] {r.name}: {r.detail}" in text
        assert repr(r.violation.calls[-1].completion)[:200] in text


def test_at_least_fifteen_planted_bugs() -> None:
    assert len(BUGS) >= 15
    assert len({_name(b[0]) for b in BUGS}) == len(BUGS)


TASKS = [
    "temporal grounding",
    "spatial grounding",
    "tracking",
    "spatial-temporal grounding",
    "segmentation",
    "multiple choice",
    "numerical",
    "regression",
    "math",
    "ocr",
    "open-ended",
    "captioning",
]


@pytest.mark.parametrize("task", TASKS)
def test_unireward_scorer_has_no_false_alarm(task: str) -> None:
    report = check_reward(unireward.score, task)
    assert report.ok, report.text()


def test_unireward_video_segmentation_has_no_false_alarm() -> None:
    report = check_reward(unireward.score, "segmentation", data_type="video")
    assert report.ok, report.text()


@pytest.mark.parametrize("task", TASKS)
def test_plain_reward_has_no_false_alarm(task: str) -> None:
    report = check_reward(plain.plain_reward, task)
    assert report.ok, report.text()


def test_plain_video_segmentation_has_no_false_alarm() -> None:
    report = check_reward(plain.plain_reward, "segmentation", data_type="video")
    assert report.ok, report.text()


@pytest.mark.parametrize("task", ["spatial grounding", "multiple choice"])
def test_plain_trl_reward_has_no_false_alarm(task: str) -> None:
    report = check_reward(plain.plain_trl_reward, task)
    assert report.ok, report.text()
