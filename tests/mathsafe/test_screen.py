"""The math screen: what it refuses, what it lets through, and that it never fails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unireward._mathsafe.screen import MAX_EXPRESSION_CHARS, refusal

REFUSED = {
    "tower3": "9^{9^{9^{9}}}",
    "boxed_tower": "\\boxed{9^{9^{9^{9}}}}",
    "dfrac_tower": "\\dfrac{1}{2}^{\\dfrac{1}{2}^{\\dfrac{1}{2}^{\\dfrac{1}{2}}}}",
    "tower2_numeric": "2^{9^{9}}",
    "tower2_big": "2^{2^{20}}",
    "chain": "9^9^9",
    "python_chain": "9**9**9",
    "huge_exponent": "2^{99999999}",
    "huge_exponent_paren": "e^(1000000)",
    "power_of_power": "(10^{9999})^{9999}",
    "factorial": "10000000!",
    "factorial_1001": "1001!",
    "factorial_group": "(5000)!",
    "factorial_of_factorial": "(5!)!",
    "factorial_of_power": "(10^{6})!",
    "too_long": "1+" * (MAX_EXPRESSION_CHARS // 2 + 1),
    "too_deep": "(" * 41 + "1" + ")" * 41,
    "too_many_powers": "x^2+" * 201,
}

ALLOWED = [
    "\\frac{3}{2}",
    "-1.5",
    "x^2+2x+1",
    "(x+1)^2",
    "e^{-x^2}",
    "e^{x^{2}}",
    "2^{3^{2}}",
    "2^{2^{10}}",
    "\\dfrac{1}{2}^{\\dfrac{1}{2}^{\\dfrac{1}{2}}}",
    "10^{9999}",
    "(2^{10})^{3}",
    "(2^3)^2",
    "5!",
    "1000!",
    "(n+1)!",
    "1,\\!000",
    "3.2\\times10^{5}",
    "10^{-12}",
    "e^{i\\pi}",
    "x^{\\frac{1}{2}}",
    "\\sqrt[3]{x}",
    "\\left(1, 2\\right]",
    "\\boxed{40}",
    "(" * 40 + "1" + ")" * 40,
    "The answer is $\\frac{1}{2}$, since 2^{10} = 1024.",
]


@pytest.mark.parametrize("text", list(REFUSED.values()), ids=list(REFUSED))
def test_refused(text: str) -> None:
    assert isinstance(refusal(text), str)


@pytest.mark.parametrize("text", ALLOWED)
def test_allowed(text: str) -> None:
    assert refusal(text) is None


def test_reasons_name_the_problem() -> None:
    assert refusal("10000000!") == "factorial of 10000000"
    assert refusal("2^{99999999}") == "exponent 99999999 too large"
    assert refusal("9^{9^{9^{9}}}") == "power tower (three levels)"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789^{}()[]!*+-x\\ frac")), max_size=400))
def test_never_raises(text: str) -> None:
    assert refusal(text) is None or isinstance(refusal(text), str)


def test_large_inputs_are_handled() -> None:
    # the longest accepted text, full of powers and brackets, and a 1 MB one
    dense = ("x^{2}+(" * 40 + "1" + ")" * 40)[:MAX_EXPRESSION_CHARS]
    assert refusal(dense) is None or isinstance(refusal(dense), str)
    assert refusal("9" * 1_000_000) == f"longer than {MAX_EXPRESSION_CHARS} characters"
