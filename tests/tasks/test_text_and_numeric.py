"""Numerical, regression, OCR, open-ended and captioning scorers."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import unireward
from unireward.errors import GroundTruthError
from unireward.tasks.numeric import mean_relative_accuracy
from unireward.tasks.text import rouge_accuracy, rouge_f1

THINK = "<think>t</think>"


def wrap(answer: str) -> str:
    return f"{THINK}<answer>{answer}</answer>"


def f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def mra_oracle(p: float, g: float) -> float:
    """MRA in float32, written with struct round trips (independent of numpy)."""
    eps = f32(1e-8)
    err = f32(f32(abs(f32(f32(p) - f32(g)))) / f32(abs(f32(g)) + eps))
    hits = 0
    for i in range(10):
        theta = f32(0.5 + 0.05 * i)
        if err < f32(1.0 - theta):
            hits += 1
    return f32(hits / 10) if hits not in (0, 10) else float(hits // 10)


@pytest.mark.parametrize(
    ("answer", "gt", "expected"),
    [
        ("3.14", "3.14", 1.0),
        ("1,000", "1000", 1.0),
        ("$3.14$", "3.14", 0.0),
        ("about 3.14", "3.14", 0.0),
        ("3.145", "3.14", 0.0),  # 3.145 is stored just above the half: rounds to 3.15
        ("2.125", "2.12", 1.0),  # round-half-even on an exactly representable half
        ("1_000", "1000", 1.0),
        ("+5", "5", 1.0),
        ("5.", "5", 1.0),
        (".5", "0.5", 1.0),
        ("３", "3", 1.0),  # full-width digit
        ("3,5", "35", 1.0),
        ("nan", "1", 0.0),
        ("inf", "1", 0.0),
        ("1e400", "1", 0.0),
    ],
)
def test_numerical(answer: str, gt: str, expected: float) -> None:
    r = unireward.score(wrap(answer), gt, "numerical")
    assert r.accuracy == expected
    assert r.total == pytest.approx(0.9 * expected + 0.1 + 0.5)


def test_numerical_bad_ground_truth_raises_on_request() -> None:
    with pytest.raises(GroundTruthError, match="not a finite number"):
        unireward.score(wrap("1"), "about three", "numerical", errors="raise")
    r = unireward.score(wrap("1"), "about three", "numerical")
    assert (r.total, r.accuracy, r.status.value) == (pytest.approx(0.6), 0.0, "ground_truth_error")


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
@settings(max_examples=500, deadline=None)
def test_mra_matches_float32_oracle(p: float, g: float) -> None:
    assert mean_relative_accuracy(p, g) == pytest.approx(mra_oracle(p, g), abs=1e-7)


@pytest.mark.parametrize(
    ("p", "g", "expected"),
    [
        (100, 100, 1.0),
        (125, 100, 0.5),
        (0.1, 0, 0.0),
        (0, 0, 1.0),
        (5e-10, 0, 1.0),
        (200, 100, 0.0),
    ],
)
def test_mra_cases(p: float, g: float, expected: float) -> None:
    assert mean_relative_accuracy(p, g) == expected


def test_mra_float32_quirk() -> None:
    # a 10% error scores 0.9 in float32 (0.8 in float64)
    assert mean_relative_accuracy(110.0, 100.0) == pytest.approx(0.9, abs=1e-7)
    r = unireward.score(wrap("110"), "100", "regression")
    assert r.accuracy == pytest.approx(0.9, abs=1e-7)


def test_mra_vectorised_equals_scalar() -> None:
    rng = random.Random(0)
    ps = [rng.uniform(-50, 150) for _ in range(300)]
    gs = [rng.uniform(-100, 100) for _ in range(300)]
    batch = mean_relative_accuracy(ps, gs)
    assert [float(b) for b in batch] == [
        mean_relative_accuracy(p, g) for p, g in zip(ps, gs, strict=True)
    ]


WORDS = st.lists(
    st.sampled_from(
        [
            "The",
            "man",
            "cooking",
            "cooks",
            "pasta",
            "in",
            "a",
            "kitchen",
            "dog",
            "runs",
            "running",
            "ran",
            "é",
            "42",
            "x-ray",
            "It's",
            ".",
            ",",
            "  ",
        ]
    ),
    max_size=25,
).map(" ".join)


@given(WORDS, WORDS)
@settings(max_examples=400, deadline=None)
def test_rouge_matches_rouge_score(pred: str, ref: str) -> None:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    s = scorer.score(ref, pred)
    expected = (s["rouge1"].fmeasure, s["rouge2"].fmeasure, s["rougeL"].fmeasure)
    assert rouge_f1(pred, ref) == pytest.approx(expected, abs=1e-12)


def test_rouge_long_answer_is_cheap_and_small() -> None:
    pred = "pasta " + "word " * 200_000
    acc = rouge_accuracy(pred, "The man is cooking pasta")
    assert 0.0 < acc < 0.01


def test_captioning_scored_like_open_ended() -> None:
    r_cap = unireward.score(wrap("A man cooks noodles."), "The man is cooking pasta.", "captioning")
    r_oe = unireward.score(wrap("A man cooks noodles."), "The man is cooking pasta.", "open-ended")
    assert r_cap.accuracy == r_oe.accuracy > 0


@pytest.mark.parametrize(
    ("answer", "gt", "expected"),
    [
        ("Hello World", "Hello World", 1.0),
        ("hello World", "Hello World", 0.5),  # case-sensitive
        ("a b c d e f g h", "x y", 0.0),  # WER > 1 clipped
        ("Hello", "Hello World", 0.5),
    ],
)
def test_ocr(answer: str, gt: str, expected: float) -> None:
    assert unireward.score(wrap(answer), gt, "OCR").accuracy == expected


def test_ocr_empty_ground_truth_is_scored_as_the_reference_does() -> None:
    # WER = number of answer words: one word gives accuracy 0 (see tests/tasks/test_ocr.py)
    r = unireward.score(wrap("x"), "   ", "ocr")
    assert (r.accuracy, r.status.value) == (0.0, "ok")
