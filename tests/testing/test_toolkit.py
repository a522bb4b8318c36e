"""check_reward as a user meets it: reports, the quirk label, non-determinism, the
differential mode, signatures and return values, options, the pytest fixture, strategies."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from hypothesis import given, settings

import unireward
from unireward.completion import format_reward, normalize_tags
from unireward.errors import ConfigurationError
from unireward.testing import check_reward
from unireward.testing import strategies as S

from . import plain, planted

# -- reports ---------------------------------------------------------------------------------


def test_report_shows_the_shrunk_completion_truth_and_reward() -> None:
    report = check_reward(planted.nan_for_empty_completion, "numerical")
    result = report["finite_and_bounded"]
    assert result.outcome == "fail"
    assert result.detail == "reward nan is not finite on an empty completion"
    (call,) = result.violation.calls  # type: ignore[union-attr]
    assert call.completion == "" and math.isnan(call.value)  # type: ignore[arg-type]
    assert result.example == ("", call.truth)
    text = report.text()
    assert (
        "completion: ''" in text
        and f"truth:      {call.truth!r}" in text
        and "reward:     nan" in text
    )
    assert text.splitlines()[0] == (
        "reward invariants for task 'numerical' (nan_for_empty_completion): "
        f"{len(report.failures)} of 8 failed"
    )


def test_report_of_a_two_call_invariant_numbers_the_calls() -> None:
    report = check_reward(planted.box_iou_over_pred_area, "spatial grounding")
    result = report["only_truth_is_max"]
    perfect, inside = result.violation.calls  # type: ignore[union-attr]
    assert perfect.value == inside.value == 1.5
    assert (
        "an answer inside the truth scored 1.5, not below the perfect answer's 1.5" == result.detail
    )
    assert perfect.truth == inside.truth
    assert json.loads(perfect.completion.split("<answer>")[1].split("</answer>")[0]) == json.loads(
        perfect.truth
    )
    text = report.text()
    assert "call 1: completion: " in text and "call 2: completion: " in text


def test_a_crash_is_shown_with_its_error() -> None:
    report = check_reward(planted.ascii_only_answer, "ocr")
    result = report["never_raises"]
    assert result.outcome == "fail" and result.detail.startswith("raised on ")
    (call,) = result.violation.calls  # type: ignore[union-attr]
    assert call.raised and call.error.startswith("UnicodeEncodeError")  # type: ignore[union-attr]
    assert any(ord(ch) > 127 for ch in call.completion)
    assert "reward:     raised UnicodeEncodeError" in report.text()


# -- the quirk label ---------------------------------------------------------------------------


def test_quirk_label_for_unireward_under_onethinker_only() -> None:
    own = check_reward(unireward.score, "temporal grounding", max_examples=10)
    assert own["swapped_ends"].outcome == "documented"
    assert "reference quirk" in own["swapped_ends"].detail and "QUIRK" in own.text()
    assert own.ok

    def strict(completion: str, truth: Any, task: str, data_type: str | None = None) -> Any:
        return unireward.score(completion, truth, task, data_type=data_type, profile="strict")

    assert (
        check_reward(strict, "temporal grounding", max_examples=10)["swapped_ends"].detail
        == "swapped ends are re-ordered"
    )
    users = check_reward(plain.plain_reward, "spatial grounding", max_examples=10)
    assert users["swapped_ends"].outcome == "pass"
    assert "quirk" not in users.text().lower()

    def wrapped(completion: str, truth: Any, task: str, data_type: str | None = None) -> float:
        return unireward.score(completion, truth, task, data_type=data_type).total

    assert (
        check_reward(wrapped, "spatial grounding", max_examples=10)["swapped_ends"].outcome
        == "pass"
    )


# -- non-determinism ---------------------------------------------------------------------------


def test_a_reward_that_changes_every_seventh_call_is_a_failure_not_a_crash() -> None:
    report = check_reward(planted.EverySeventhCall(), "multiple choice")
    result = report["deterministic"]
    assert result.outcome == "fail" and result.detail.startswith("the same input scored ")
    first, later = result.violation.calls  # type: ignore[union-attr]
    assert (first.completion, first.truth) == (later.completion, later.truth)
    low, high = sorted((first.value, later.value))  # type: ignore[type-var]
    assert low == high * 0.5  # type: ignore[operator]


def test_a_random_reward_is_reported_on_every_invariant_it_breaks() -> None:
    rng = random.Random(0)

    def noisy(completion: str, truth: Any, task: str, data_type: str | None = None) -> float:
        return float("nan") if rng.random() < 0.05 else rng.random() * 1.5

    report = check_reward(noisy, "spatial grounding")  # hypothesis' shrinking cannot replay it
    assert {"finite_and_bounded", "deterministic", "perfect_is_max"} <= {
        r.name for r in report.failures
    }
    assert all(r.violation is not None and r.violation.calls for r in report.failures)


# -- differential mode -------------------------------------------------------------------------


def test_differential_mode_finds_where_a_port_disagrees() -> None:
    report = check_reward(planted.box_iou_over_pred_area, "spatial grounding", reference=True)
    result = report["matches_reference"]
    assert result.outcome == "fail" and "where the reference scored" in result.detail
    (call,) = result.violation.calls  # type: ignore[union-attr]
    expected = unireward.score(call.completion, call.truth, "spatial grounding").total
    assert f"where the reference scored {expected!r}" in result.detail
    assert call.value != expected


def test_differential_mode_passes_a_faithful_port() -> None:
    for task in ("temporal grounding", "numerical"):
        report = check_reward(plain.plain_reward, task, reference=True)
        assert report["matches_reference"].outcome == "pass", report.text()


def test_differential_mode_with_a_user_reference_and_a_tolerance() -> None:
    def half(completion: str, truth: Any, task: str, data_type: str | None = None) -> float:
        return plain.plain_reward(completion, truth, task, data_type) * 0.5

    strict = check_reward(
        half, "multiple choice", reference=plain.plain_trl_reward, bounds=(0, 1.5), max_reward=0.75
    )
    assert strict["matches_reference"].outcome == "fail"
    loose = check_reward(
        half, "multiple choice", reference=plain.plain_trl_reward, tolerance=0.75, max_reward=0.75
    )
    assert loose["matches_reference"].outcome == "pass"
    assert "matches_reference" not in {
        r.name for r in check_reward(half, "multiple choice", max_examples=5).results
    }


# -- signatures and return values -------------------------------------------------------------


def test_none_is_allowed_for_trl_signature_only() -> None:
    def trl_none(
        prompts: list[Any], completions: list[str], solution: list[Any], **kw: Any
    ) -> list[float | None]:
        return [
            None if "<answer>" not in c else plain.plain_reward(c, s, "numerical")
            for c, s in zip(completions, solution, strict=True)
        ]

    assert check_reward(trl_none, "numerical")["finite_and_bounded"].outcome == "pass"

    def score_none(
        completion: str, truth: Any, task: str, data_type: str | None = None
    ) -> float | None:
        return None if "<answer>" not in completion else plain.plain_reward(completion, truth, task)

    result = check_reward(score_none, "numerical")["finite_and_bounded"]
    assert result.outcome == "fail" and result.detail.startswith(
        "returned None (only TRL's signature may return None), on "
    )


def test_a_reward_that_is_not_a_number_is_reported() -> None:
    def text_reward(completion: str, truth: Any, task: str, data_type: str | None = None) -> str:
        return f"{plain.plain_reward(completion, truth, task):.2f}"

    result = check_reward(text_reward, "multiple choice", max_examples=5)["finite_and_bounded"]
    assert result.outcome == "fail" and "(str), not a number" in result.detail

    def two_rewards(prompts: list[Any], completions: list[str], **kw: Any) -> list[float]:
        return [0.0, 0.0]

    result = check_reward(two_rewards, "multiple choice", max_examples=5)["finite_and_bounded"]
    assert "not a list of 1 reward" in result.detail


def test_bad_options_raise_clear_errors() -> None:
    with pytest.raises(ConfigurationError, match="signature must be"):
        check_reward(plain.plain_reward, "numerical", signature="openrlhf")
    with pytest.raises(ConfigurationError, match="bounds must be"):
        check_reward(plain.plain_reward, "numerical", bounds=(1.5, 0.0))
    with pytest.raises(ConfigurationError, match="max_examples"):
        check_reward(plain.plain_reward, "numerical", max_examples=0)
    with pytest.raises(ConfigurationError, match="reference must be"):
        check_reward(plain.plain_reward, "numerical", reference="polar")
    with pytest.raises(ConfigurationError, match="must be callable"):
        check_reward("score", "numerical")  # type: ignore[arg-type]
    with pytest.raises(unireward.UnknownTaskError, match="knows no task 'detection'"):
        check_reward(plain.plain_reward, "detection")
    with pytest.raises(KeyError, match="no invariant 'speed'"):
        check_reward(plain.plain_reward, "numerical", max_examples=2)["speed"]


def test_max_reward_and_bounds_for_a_reward_in_0_1() -> None:
    def unit(completion: str, truth: Any, task: str, data_type: str | None = None) -> float:
        return plain.plain_reward(completion, truth, task) / 1.5

    assert check_reward(unit, "temporal grounding", bounds=(0.0, 1.0)).ok
    assert (
        check_reward(unit, "temporal grounding", max_examples=10)["perfect_is_max"].outcome
        == "fail"
    )


# -- the pytest fixture ------------------------------------------------------------------------


def test_fixture_passes_and_fails(reward_checker: Any) -> None:
    report = reward_checker(unireward.score, task="spatial grounding", max_examples=10)
    assert report.ok
    with pytest.raises(pytest.fail.Exception, match=r"\[ FAIL\] finite_and_bounded"):
        reward_checker(planted.sums_answer_blocks, task="spatial grounding")


# -- strategies ---------------------------------------------------------------------------------


@given(
    S.completions(
        S.boxes().map(json.dumps),
        damage=[
            "missing_tags",
            "text_after",
            "text_before",
            "no_think",
            "uppercase_tags",
            "unclosed_answer",
        ],
    )
)
@settings(max_examples=60, deadline=None)
def test_damaged_completions_fail_the_format_check(completion: str) -> None:
    assert format_reward(normalize_tags(completion)) == 0.0


@given(
    S.completions(
        S.boxes().map(json.dumps), damage=["spaces_in_tags", "duplicated_answer", "nested_tags"]
    )
)
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
    r = unireward.score(S.wrap(json.dumps(ans)), ans, "segmentation", data_type="video")
    assert r.accuracy == 1.0


@given(S.degenerate_boxes(), S.degenerate_intervals())
@settings(max_examples=30, deadline=None)
def test_degenerate_geometry_has_no_area(box: dict, interval: dict) -> None:
    x1, y1, x2, y2 = box["boxes"]
    assert (x2 - x1) * (y2 - y1) == 0
    assert interval["time"][0] == interval["time"][1]


@given(S.non_ascii_text())
@settings(max_examples=30, deadline=None)
def test_non_ascii_text_is_not_ascii(text: str) -> None:
    assert not text.isascii()


def test_unknown_damage_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown damage"):
        S.completions("x", damage=["typo"])
    with pytest.raises(ValueError, match="unknown damage"):
        S.damage_completion("typo", "x")


def test_public_surface() -> None:
    import unireward.testing as T

    assert sorted(T.__all__) == [
        "CheckReport",
        "InvariantResult",
        "TaskSpec",
        "Violation",
        "check_reward",
    ]
    for name in T.__all__:
        assert getattr(T, name).__name__ == name
    with pytest.raises(AttributeError):
        T.nothing_here  # noqa: B018
