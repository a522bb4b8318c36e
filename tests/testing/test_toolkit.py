"""The property-testing toolkit: it passes unireward's scorers, reports the documented
quirk, and catches planted bugs in small example reward functions."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings

import unireward
from unireward.completion import format_reward, normalize_tags
from unireward.testing import check_reward
from unireward.testing import strategies as S

ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


@pytest.mark.parametrize("task", ["temporal grounding", "spatial grounding", "tracking", "segmentation",
                                  "spatial-temporal grounding", "multiple choice", "numerical", "ocr", "regression"])
def test_unireward_passes_every_invariant(task: str) -> None:
    report = check_reward(unireward.score, task, max_examples=25)
    assert report.ok, report.text()
    assert report["finite_and_bounded"].outcome == "pass"


def test_documented_quirk_is_reported_not_failed() -> None:
    report = check_reward(unireward.score, "temporal grounding", max_examples=10)
    assert report["swapped_ends"].outcome == "documented"
    assert "structure reward stays 0.5" in report["swapped_ends"].detail
    strict = check_reward(lambda c, g, t, data_type=None: unireward.score(c, g, t, data_type=data_type, profile="strict"),
                          "temporal grounding", max_examples=10, signature="score")
    assert strict["swapped_ends"].outcome == "pass"


def _boxes(text: str) -> list[float]:
    return [float(v) for v in json.loads(text)["boxes"]]


def iou_can_exceed_one(completion: str, ground_truth: str, task: str, data_type: str | None = None) -> float:
    m = ANSWER.search(completion)
    if not m:
        return 0.0
    try:
        p, g = _boxes(m.group(1)), _boxes(ground_truth if isinstance(ground_truth, str) else json.dumps(ground_truth))
    except (ValueError, KeyError, TypeError):
        return 0.0
    iw = max(0.0, min(p[2], g[2]) - max(p[0], g[0]))
    ih = max(0.0, min(p[3], g[3]) - max(p[1], g[1]))
    area = max(0.0, g[2] - g[0]) * max(0.0, g[3] - g[1])
    return 2.0 * iw * ih / area if area else 0.0  # bug: 2x and no union


def raises_on_missing_tag(prompts, completions, solution, **kw):  # type: ignore[no-untyped-def]
    out = []
    for c, g in zip(completions, solution, strict=True):
        ans = ANSWER.search(c).group(1)  # bug: no check for a missing tag
        out.append(1.5 if ans.strip() == str(g).strip() else 0.1)
    return out


def nan_for_zero_area(completion: str, ground_truth: str, task: str, data_type: str | None = None) -> float:
    m = ANSWER.search(completion)
    try:
        p, g = _boxes(m.group(1)), _boxes(ground_truth if isinstance(ground_truth, str) else json.dumps(ground_truth))
    except (ValueError, KeyError, TypeError, AttributeError):
        return 0.0
    iw = max(0.0, min(p[2], g[2]) - max(p[0], g[0]))
    ih = max(0.0, min(p[3], g[3]) - max(p[1], g[1]))
    area_p = max(0.0, p[2] - p[0]) * max(0.0, p[3] - p[1])
    import numpy as np

    with np.errstate(all="ignore"):
        return float(np.float64(iw * ih) / np.float64(area_p))  # bug: 0/0 for a zero-area box


def depends_on_key_order(completion: str, ground_truth: str, task: str, data_type: str | None = None) -> float:
    m = ANSWER.search(completion)
    try:
        obj = json.loads(m.group(1))
    except (ValueError, AttributeError):
        return 0.0
    if not isinstance(obj, dict):
        return 0.0
    first = next(iter(obj.values()), None)  # bug: the first key, whatever it is
    r = unireward.score(completion, ground_truth, task, data_type=data_type).total
    flat_box = isinstance(first, list) and len(first) == 4 and not isinstance(first[0], list)
    return r if flat_box else r * 0.5


def test_catches_iou_above_one() -> None:
    report = check_reward(iou_can_exceed_one, "spatial grounding", max_examples=40)
    assert report["finite_and_bounded"].outcome == "fail"
    assert report["finite_and_bounded"].example is not None


def test_catches_raise_on_missing_tag() -> None:
    report = check_reward(raises_on_missing_tag, "multiple choice", max_examples=40)
    assert report["never_raises"].outcome == "fail"
    assert "AttributeError" in report["never_raises"].detail


def test_catches_nan_for_zero_area_box() -> None:
    report = check_reward(nan_for_zero_area, "spatial grounding", max_examples=60)
    assert report["finite_and_bounded"].outcome == "fail"


def test_catches_dict_order_dependence() -> None:
    report = check_reward(depends_on_key_order, "segmentation", max_examples=40)
    assert report["key_order"].outcome == "fail"


def test_report_text_and_fixture(reward_checker) -> None:  # type: ignore[no-untyped-def]
    report = reward_checker(unireward.score, task="spatial grounding", max_examples=10)
    assert "PASS" in report.text() and "QUIRK" in report.text()
    with pytest.raises(pytest.fail.Exception, match="finite_and_bounded"):
        reward_checker(iou_can_exceed_one, task="spatial grounding", max_examples=40)


@given(S.completions(S.boxes().map(json.dumps), damage=["missing_tags", "text_after", "text_before", "no_think", "uppercase_tags", "unclosed_answer"]))
@settings(max_examples=60, deadline=None)
def test_damaged_completions_fail_the_format_check(completion: str) -> None:
    assert format_reward(normalize_tags(completion)) == 0.0


@given(S.completions(S.boxes().map(json.dumps), damage=["spaces_in_tags", "duplicated_answer", "nested_tags"]))
@settings(max_examples=60, deadline=None)
def test_quirky_damage_still_passes_the_format_check(completion: str) -> None:
    assert format_reward(normalize_tags(completion)) == 1.0


@given(S.completions(S.temporal_answers().map(json.dumps)))
@settings(max_examples=40, deadline=None)
def test_well_formed_completions_are_well_formed(completion: str) -> None:
    assert format_reward(completion) == 1.0


@given(S.segmentation_answers("video"))
@settings(max_examples=30, deadline=None)
def test_segmentation_strategy_shapes(ans: dict) -> None:
    assert len(ans["positive_points"]) == len(ans["negative_points"]) == 3 and "time" in ans
    r = unireward.score(f"<think>t</think><answer>{json.dumps(ans)}</answer>", ans, "segmentation", data_type="video")
    assert r.accuracy == 1.0


def test_unknown_damage_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown damage"):
        S.completions("x", damage=["typo"])
