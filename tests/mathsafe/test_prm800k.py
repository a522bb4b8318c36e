"""The PRM800K grader's normalisations, and its eval-free last step against the published
grader on values written several ways."""

from __future__ import annotations

import random

import pytest

from unireward._mathsafe.prm800k import grade_answer, normalize_hendrycks, normalize_second


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\text{C}", "C"),
        ("x = \\dfrac12", "\\frac{1}{2}"),
        (" 50\\% ", "50"),
        ("3/4", "\\frac{3}{4}"),
        (".5", "\\frac{1}{2}"),
        ("\\sqrt3", "\\sqrt{3}"),
        ("10\\text{ cm}", "10"),
        ("\\frac", "\\frac"),
        ("\\text{a\nb}", "\\text{ab}"),  # \text{} is only removed from a single line
    ],
)
def test_normalize_hendrycks(text: str, expected: str) -> None:
    assert normalize_hendrycks(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$ C $", "c"),
        ("\\text{(C)}", "(c)"),
        ("10 cm", "10"),
        ("\\frac{1}{2}", "1/2"),
        ("1,000", "1000"),
        ("7 3/4", "7+3/4"),
        ("90^\\circ", "90"),
        ("3 million", "3*10^6"),
        ("2.0", "2"),
        ("{C}", "c"),
        ("\\text{C}\n", "c"),
    ],
)
def test_normalize_second(text: str, expected: str) -> None:
    assert normalize_second(text) == expected


_FORMS = {
    "half": ["\\frac{1}{2}", "0.5", "1/2", "2/4", "\\dfrac12", "0.50", "\\frac{2}{4}"],
    "root2": [
        "\\sqrt{2}",
        "sqrt(2)",
        "\\sqrt2",
        "\\frac{2}{\\sqrt{2}}",
        "\\frac{\\sqrt{8}}{2}",
        "2^0.5",
    ],
    "half_pi": [
        "\\frac{\\pi}{2}",
        "pi/2",
        "0.5\\pi",
        "\\frac{1}{2}\\pi",
        "1.5707963267948966",
        "\\pi/2",
    ],
    "square": ["(x+1)^2", "x^2+2x+1", "x^2+2*x+1", "(1+x)(x+1)", "x(x+2)+1", "x^2+2x+1.0"],
    "linear": ["2x+3", "3+2x", "x+x+3", "2(x+1.5)", "2(x+\\frac{3}{2})", "\\frac{4x+6}{2}"],
    "third": ["\\frac{1}{3}", "1/3", "0.333", "0.3333333", "\\frac{2}{6}"],
    "float": ["0.3", "0.1+0.2", "0.1*3", "3/10", "\\frac{3}{10}", "0.30", "1.2/4"],
    "rational": ["\\frac{1}{x+1}", "1/(x+1)", "\\frac{2}{2x+2}", "\\frac{x}{x^2+x}"],
    "mixed": ["7\\frac{3}{4}", "7 3/4", "31/4", "7.75", "\\frac{31}{4}"],
    "root3": [
        "\\frac{\\sqrt{3}}{3}",
        "\\frac{1}{\\sqrt{3}}",
        "\\sqrt{3}/3",
        "1/sqrt(3)",
        "\\frac{\\sqrt{12}}{6}",
    ],
    "six": ["6", "6.0", "3!", "2*3", "\\frac{12}{2}", "06"],
    "pair": [
        "(1,2)",
        "(1, 2)",
        "[1,2]",
        "(2,1)",
        "(1,\\frac{4}{2})",
        "(1.0, 2)",
        "\\left(1,2\\right)",
    ],
}


@pytest.mark.slow
def test_agrees_with_published_grader_on_equivalent_forms() -> None:
    ref = pytest.importorskip("mathruler.grader")
    rng = random.Random(99)
    keys = list(_FORMS)
    pairs = []
    for _ in range(1200):
        key = rng.choice(keys)
        other = key if rng.random() < 0.85 else rng.choice(keys)
        pairs.append((rng.choice(_FORMS[key]), rng.choice(_FORMS[other])))
    expected = [ref.grade_answer(a, g) for g, a in pairs]
    assert sum(expected) > 400
    disagreements = [
        (g, a, e) for (g, a), e in zip(pairs, expected, strict=True) if grade_answer(a, g) != e
    ]
    assert not disagreements, disagreements[:10]
