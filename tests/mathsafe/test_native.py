"""The native path: what it decides (by hand, from Math-Verify's documented behaviour) and
what it leaves to the symbolic engine. Each row is also checked against Math-Verify itself
(below), and the generated differential tables are in tests/tasks/test_math_native.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unireward._mathsafe.native import compare, read, verdict


@pytest.mark.parametrize(
    ("gold", "answer", "expected"),
    [
        ("-1.5", "$$-\\dfrac{3}{2}$$", True),
        ("\\frac{6}{2}", "3", True),
        ("40", "\\boxed{40}", True),
        ("40", "$\\boxed{40}$", True),
        ("3", "\\(3\\)", True),
        ("0.5", "1/2", True),
        ("2.50", "2.5", True),
        ("-0", "0", True),
        ("50\\%", "50", True),  # a bare \% is dropped
        ("5\\%", "0.05", False),
        ("40", "41", False),
        ("1/3", "0.33", False),  # more than 1e-4 apart
        ("1/3", "0.3333", None),  # closer: left to Math-Verify
        ("A", "A", False),  # bare letters are not extracted: never a match
        ("\\dfrac{3}{2}", "1.5", False),  # a bare \dfrac is not extracted either
        ("$[1, 2]$", "$[1,2]$", True),
        ("$(1, 2)$", "$[1, 2]$", False),
        ("$(1, 2]$", "$(1, 3]$", False),
        # left to Math-Verify
        ("3", "3.0000001", None),  # depends on its 6-digit rounding
        ("1/3", "0.333333", None),
        ("50%", "0.5", True),  # a percentage without backslash: its value
        ("50%", "50", True),  # or its digits (Math-Verify's "9% is 9" rule)
        ("50%", "0.6", False),
        ("$A$", "$a$", None),
        ("x+1", "1+x", None),
        ("1,000", "1000", None),
        ("[1, 2]", "[1,2]", None),  # a bare interval
        # tuples: (a, b) with a >= b, or three items and more; element by element
        ("$(2, 1)$", "$(2, 1)$", True),
        ("$(5, 3)$", "$(5,3.0)$", True),
        ("$(3, 3)$", "$(3, 3)$", True),
        ("$(5, 3)$", "$(5, 4)$", False),
        ("$(1, 2, 3)$", "$\\left(1,2,3\\right)$", True),
        ("$(1, 2, 3)$", "$(1, 2)$", False),  # an open interval against a triple
        ("$(2, 1)$", "$(1, 2)$", False),  # a pair against an open interval: in order
        ("$(1, 2]$", "$(2, 1)$", False),  # never a half-open interval
        ("$(\\frac{1}{2}, 0)$", "$(0.5, 0)$", True),
        ("$(2, 1)$", "$\\{2, 1\\}$", None),  # a set against a tuple
        # vectors and matrices: same shape, same elements; never a tuple or an interval
        (
            "$\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}$",
            "$\\begin{bmatrix} 2 \\\\ 1 \\end{bmatrix}$",
            True,
        ),
        (
            "$\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}$",
            "$\\begin{pmatrix} 2 \\\\ 1 \\\\ \\end{pmatrix}$",
            True,
        ),
        (
            "$\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}$",
            "$\\begin{pmatrix} 2 & 1 \\end{pmatrix}$",
            False,
        ),
        (
            "$\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}$",
            "$\\begin{pmatrix} 2 \\\\ 1.0 \\end{pmatrix}$",
            True,
        ),
        (
            "$\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}$",
            "$\\begin{bmatrix} 1&2\\\\3&5 \\end{bmatrix}$",
            False,
        ),
        ("$\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}$", "$(2, 1)$", False),
        ("$\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}$", "$(1, 2)$", False),
        # sines, cosines, exponentials of expressions with a variable
        ("$\\sin(3x)$", "$\\sin 3x$", True),
        ("$\\sin(3x)$", "$\\cos(3x)$", False),  # apart at a point
        ("$\\sin(3x)$", "$-\\sin(3x)$", False),
        ("$e^{3x}$", "$\\exp(3 x)$", True),
        ("$e^{x}$", "$e^x$", True),
        ("$e^{3x}$", "$3e^{x}$", False),
        ("$e^{x+1}$", "$e^{1+x}$", True),
        ("$\\frac{\\sin(x)}{2}$", "$\\frac{1}{2}\\sin(x)$", True),
        ("$e^{3x}$", "$(e^{x})^3$", True),  # (e^u)^n is e^{nu}
        ("$e^{6x+3}$", "$(e^{2x+1})^{3}$", True),
        ("$e^{3x}$", "$(e^{x})^{4}$", False),
        ("$\\sin(6x)$", "$\\sin(3x)\\cos(3x)$", False),  # a product of functions
        ("$2\\sin(x)\\cos(x)$", "$2\\cos(x)\\sin(x)$", True),
        ("$\\sin(2x)$", "$2\\sin(x)\\cos(x)$", None),  # an identity: Math-Verify decides
        ("$\\sin(-x)$", "$-\\sin(x)$", None),
        ("$\\sin(x)^2$", "$\\sin^2(x)$", None),  # a power of a function
        ("$\\sin 3x + 1$", "$\\sin(3x)+1$", None),  # a bare argument ends the text
        ("$\\sin(2)$", "$\\sin(2)$", None),  # a function of a constant
        ("$y = \\sin(x)$", "$\\sin(x)$", None),
        ("$\\tan(3x)$", "$\\cot(3x)$", False),
        ("$\\ln(x)$", "$\\ln x$", True),
        ("$\\ln(2x)$", "$\\ln x$", False),
        # quotients: equal when cross products are equal, else apart at a point
        ("$\\frac{x+3}{x-2}$", "$(3+x)/(x-2)$", True),
        ("$\\frac{2x+2}{2x-4}$", "$\\frac{x+1}{x-2}$", True),
        ("$\\frac{x^2-1}{x-1}$", "$x+1$", True),
        ("$\\frac{x+3}{x-2}$", "$\\frac{x-3}{x-2}$", False),
        ("$\\frac{x+3}{x-2}$", "$3$", False),
        ("$\\sqrt{x^2+5}$", "$x+\\sqrt{5}$", False),
        ("$\\sqrt{x^2+5}$", "$(x^2+5)^{1/2}$", None),
        ("$\\frac{x}{x+1}$", "$1-\\frac{1}{x+1}$", None),  # equal, not one quotient
        ("$(x+1)/(x+2)y$", "$\\frac{(x+1)y}{x+2}$", None),  # read as (x+1)/((x+2)y) there
        ("$\\frac{x+3}{x-2}$", "$x$", None),  # a single letter: the symbol rule
        # exact expressions: Math-Verify's simplify(gold - answer) == 0
        ("$x^2+2x+1$", "$(x+1)^2$", True),
        ("$x^2+2x+1$", "$(x-1)^2$", False),
        ("$2\\sqrt{3}$", "$\\sqrt{12}$", True),
        ("$\\frac{\\sqrt{3}}{2}$", "$\\frac{1}{2}\\sqrt{3}$", True),
        ("$\\frac{\\pi}{4}$", "$\\frac{\\pi}{4}$", True),
        ("$\\frac{\\pi}{4}$", "$\\frac{\\pi}{3}$", False),
        ("$\\sqrt{2}$", "$\\frac{3}{2}$", False),
        ("$\\sqrt{4}$", "2", True),
        ("$\\frac{\\sqrt{3}}{2}$", "$0.866$", None),  # a float against an expression
        ("$2\\frac{1}{3}$", "$\\frac{7}{3}$", None),  # a mixed number there
        ("$x$", "$x$", True),
        ("$x$", "$y$", False),
        ("$x$", "$\\frac{2x}{2}$", None),  # a symbol: Math-Verify compares names
        ("$xy$", "$yx$", True),
        ("$2m$", "$2m$", None),  # m is a unit there
        # assignments: the right-hand side against a non-equation, both sides otherwise
        ("$x = 5$", "5", True),
        ("5", "$x=5$", True),
        ("$x=5$", "$x=6$", False),
        ("$x=5$", "$y=5$", False),
        ("$x = 2y$", "$y = \\frac{x}{2}$", None),
        ("$y = 2x+1$", "$y=1+2x$", True),
        # sets of exact numbers
        ("$\\{1, 2\\}$", "$\\{2, 1\\}$", True),
        ("$\\{1, 2\\}$", "$\\{1, 3\\}$", False),
        ("$\\{1, 2\\}$", "$\\{1, 2, 2\\}$", True),
        ("$\\{0.5, 2\\}$", "$\\{2, 0.5\\}$", None),
    ],
)
def test_verdicts(gold: str, answer: str, expected: bool | None) -> None:
    assert verdict(gold, answer) is expected
    if expected is not None:  # the rule is Math-Verify's
        assert _math_verify(gold, answer) is expected


def _math_verify(gold: str, answer: str) -> bool:
    import logging

    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    return bool(
        verify(
            parse(gold, parsing_timeout=None),
            parse(answer, parsing_timeout=None),
            timeout_seconds=None,
        )
    )


_PIECES = [
    "x",
    "y",
    "n",
    "2",
    "10",
    "0",
    ".",
    "+",
    "-",
    "^",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    "\\frac",
    "\\sqrt",
    "\\pi",
    "\\cdot",
    "\\infty",
    "\\left(",
    "\\right)",
    "\\{",
    "\\}",
    "$",
    "\\boxed{",
    "\\%",
    "/",
    " ",
    "99999999",
    "e",
    "A",
]


@given(
    st.lists(st.sampled_from(_PIECES), max_size=60), st.lists(st.sampled_from(_PIECES), max_size=60)
)
@settings(max_examples=200, deadline=None)
def test_arbitrary_text_never_breaks_the_reader(a: list[str], b: list[str]) -> None:
    for text in ("".join(a), "$" + "".join(a) + "$"):
        value = read(text)
        assert value is None or isinstance(value, tuple)
        other = read("$" + "".join(b) + "$")
        if value is not None and other is not None:
            assert compare(value, other) in (True, False, None)


@given(st.text(max_size=300))
@settings(max_examples=150, deadline=None)
def test_arbitrary_unicode_never_breaks_the_reader(text: str) -> None:
    assert verdict(text, text) in (True, False, None)


def test_a_full_function_table_is_forgotten_safely(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the table of function arguments is cleared, values read before it can no longer
    be evaluated: their pairs go to Math-Verify (None), never a wrong verdict."""
    from unireward._mathsafe import native

    monkeypatch.setattr(native, "_FUNCTION_ARGS", {})
    monkeypatch.setattr(native, "_MAX_FUNCTION_ARGS", 2)
    early = read("$\\sin(3x)$")
    for k in range(2, 6):  # fills the table: it is cleared
        assert read(f"$(e^{{{k}x}})^{{2}}$") is not None
    assert compare(early, read("$\\cos(3x)$")) is None  # sin[3x] is forgotten
    assert verdict("$\\sin(3x)$", "$\\cos(3x)$") is False  # read again: known
    assert verdict("$(e^{x})^{2}$", "$e^{2x}$") is True
