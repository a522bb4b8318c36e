"""Math: Math-Verify's verdicts on a table of real answers, the reference vectors, and the
native path checked against Math-Verify itself on generated pairs."""

from __future__ import annotations

import logging
import random
from fractions import Fraction

import pytest

import unireward
from unireward import Status
from unireward._mathsafe.native import verdict as native_verdict
from unireward.tasks.base import ScoreOptions
from unireward.tasks.math import MathScorer, _from_verifier

OPTIONS = ScoreOptions(math_timeout=20.0)

# (gold, prediction, expected): expected is Math-Verify's verify(parse(gold), parse(pred))
# (re-checked by test_table_agrees_with_math_verify). Quirks of the reference included:
# bare letters never match, "- 3" loses its sign, a bare \dfrac gold is not extracted.
TABLE = [
    ("-1.5", "$$-\\dfrac{3}{2}$$", 1),
    ("\\frac{6}{2}", "3", 1),
    ("2", "$x=2$", 1),
    ("40", "\\boxed{40}", 1),
    ("40", "41", 0),
    ("\\frac{1}{2}", "0.5", 1),
    ("0.5", "1/2", 1),
    ("3", "3.0", 1),
    ("1/3", "0.333333", 1),
    ("1/3", "0.3333", 0),
    ("50", "50%", 1),
    ("$50\\%$", "$0.5$", 1),
    ("5\\%", "0.05", 0),
    ("$[1, 2]$", "$[1,2]$", 1),
    ("$(1, 2)$", "$[1, 2]$", 0),
    ("A", "A", 0),
    ("$A$", "$a$", 1),
    ("1,000", "1000", 1),
    ("-3", "- 3", 0),
    ("\\sqrt{2}", "1.41", 0),
    ("$x^2+2x+1$", "$(x+1)^2$", 1),
    ("x^2+2x+1", "(x+1)^2", 0),
    ("$\\frac{\\pi}{2}$", "$\\frac{\\pi}{2}$", 1),
    ("$2\\sqrt{3}$", "$\\sqrt{12}$", 1),
    ("$x+1$", "$1+x$", 1),
    ("12345678901234567890", "12345678901234567890.0", 1),
    ("3", "3.0000001", 0),
    ("100", "1e2", 0),
    ("\\dfrac{3}{2}", "1.5", 0),
    ("$\\dfrac{3}{2}$", "1.5", 1),
    ("\\pi", "3.14159", 0),
    ("$\\pi$", "$3.14159265358979$", 1),
    ("$x = 5$", "5", 1),
    ("$y=2x+1$", "$y=1+2x$", 1),
    ("$\\{1, 2\\}$", "$\\{2, 1\\}$", 1),
    ("10", "ten", 0),
    ("$\\frac{\\sqrt{3}}{2}$", "$\\frac{1}{2}\\sqrt{3}$", 1),
    ("0.25", "\\frac{1}{4}", 1),
    ("25\\%", "0.25", 0),
    ("$25\\%$", "0.25", 1),
    ("7", "The answer is 7", 1),
    ("$(3, -2)$", "$(3,-2)$", 1),
    ("$x \\in [0, 1]$", "$[0,1]$", 1),
    ("9", "\\boxed{9}.", 1),
    ("\\frac{1}{3}", "\\frac{2}{6}", 1),
    ("2.5", "\\frac{5}{2}", 1),
    ("$e^{x^2}$", "$e^{x^{2}}$", 1),
    ("$\\infty$", "$\\infty$", 1),
    ("$(1, 2)$", "$(1,2)$", 1),
    ("$(-\\infty, 3]$", "$(-\\infty,3]$", 1),
]


@pytest.mark.parametrize(("gold", "prediction", "expected"), TABLE)
def test_real_world_table(gold: str, prediction: str, expected: int) -> None:
    r = MathScorer().score(prediction, gold, data_type="image", options=OPTIONS)
    assert (r.accuracy, r.structure, r.status) == (float(expected), 0.5, Status.OK)


def _math_verify(gold: str, prediction: str) -> bool:
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    return bool(
        verify(
            parse(gold, parsing_timeout=None),
            parse(prediction, parsing_timeout=None),
            timeout_seconds=None,
        )
    )


def test_table_agrees_with_math_verify() -> None:
    assert [int(_math_verify(g, p)) for g, p, _ in TABLE] == [e for _, _, e in TABLE]


def test_reference_vectors(reference_rows: list[dict]) -> None:
    rows = [r for r in reference_rows if r["problem_type"].lower() == "math"]
    assert rows
    for row in rows:
        r = unireward.score(row["completion"], row["ground_truth"], row["problem_type"])
        assert r.accuracy == row["components"]["accuracy"], row["notes"]
        assert r.total == pytest.approx(row["expected_reward"]), row["notes"]


def test_batch_equals_item_by_item() -> None:
    golds = [g for g, _, _ in TABLE]
    preds = [p for _, p, _ in TABLE]
    s = MathScorer()
    batch = s.score_many(preds, golds, [None] * len(TABLE), OPTIONS)
    single = [
        s.score(p, g, data_type=None, options=OPTIONS) for g, p in zip(golds, preds, strict=True)
    ]
    assert batch == single
    assert [r.accuracy for r in batch] == [float(e) for _, _, e in TABLE]


def test_batch_through_the_public_api() -> None:
    records = [
        {"completion": f"<think>t</think><answer>{p}</answer>", "ground_truth": g, "task": "math"}
        for g, p, _ in TABLE[:12]
    ]
    got = [r.accuracy for r in unireward.score_batch(records)]
    assert got == [float(e) for _, _, e in TABLE[:12]]


def test_verifier_failure_falls_back_to_the_string_grader() -> None:
    # what the scorer does with a failed verifier: PRM800K decides, and says so
    ok = _from_verifier({"error": "RecursionError"}, "\\frac{1}{2}", "0.5", OPTIONS)
    bad = _from_verifier({"error": "RecursionError"}, "2", "0.5", OPTIONS)
    assert (ok.accuracy, bad.accuracy) == (1.0, 0.0)
    assert ok.reason is not None and "PRM800K" in ok.reason


# ---- the native path agrees with Math-Verify ---------------------------------------------


def _render(rng: random.Random, v: Fraction) -> str:
    forms = []
    if v.denominator == 1:
        forms += [str(v.numerator), f"{v.numerator}.0", f"{v.numerator}.00"]
    d = float(v)
    forms += [repr(d) if abs(d) < 1e15 else str(v.numerator), f"{d:.6f}", f"{d:.3f}", f"{d:.7f}"]
    sign = "-" if v < 0 else ""
    n, m, k = abs(v.numerator), v.denominator, rng.choice([1, 1, 2, 3])
    forms += [
        f"{sign}\\frac{{{n * k}}}{{{m * k}}}",
        f"{sign}\\dfrac{{{n}}}{{{m}}}",
        f"{sign}{n * k}/{m * k}",
    ]
    return rng.choice(forms)


def _item(rng: random.Random, v: Fraction) -> str:
    r = rng.random()
    if r < 0.75:
        wrapper = rng.choice(
            [
                "{}",
                "{}",
                "{}",
                "${}$",
                "$$ {} $$",
                "\\boxed{{{}}}",
                "\\({}\\)",
                "\\[{}\\]",
                "$\\boxed{{{}}}$",
            ]
        )
        return wrapper.format(_render(rng, v))
    if r < 0.82:
        return f"{_render(rng, v)}\\%" if v >= 0 else _render(rng, v)
    if r < 0.88:
        return rng.choice("ABCDabcxyz")
    low, high = v, v + rng.choice([1, Fraction(1, 2), 3])
    body = f"{rng.choice('([')}{_render(rng, low)}, {_render(rng, high)}{rng.choice(')]')}"
    return rng.choice(["${}$", "\\boxed{{{}}}"]).format(body)


def _value(rng: random.Random) -> Fraction:
    kind = rng.random()
    if kind < 0.4:
        return Fraction(rng.randint(-50, 500))
    if kind < 0.7:
        return Fraction(rng.randint(-999, 9999), rng.choice([2, 4, 5, 10, 100, 1000]))
    if kind < 0.9:
        return Fraction(rng.randint(-20, 20), rng.randint(1, 12))
    return Fraction(rng.randint(10**12, 10**20))


@pytest.mark.slow
def test_native_path_agrees_with_math_verify() -> None:
    rng = random.Random(424242)
    decided, disagreements = 0, []
    for _ in range(1500):
        v = _value(rng)
        near = v + rng.choice([Fraction(1, 10**6), Fraction(1, 7), 1, Fraction(1, 10**8)])
        gold, pred = _item(rng, v), _item(rng, v if rng.random() < 0.6 else near)
        verdict = native_verdict(gold, pred)
        if verdict is None:
            continue
        decided += 1
        if verdict != _math_verify(gold, pred):
            disagreements.append((gold, pred, verdict))
    assert decided > 800  # most realistic pairs are decided without the symbolic engine
    assert not disagreements, disagreements[:10]
