"""The fast path: what it decides (by hand, from Math-Verify's documented behaviour) and
what it leaves to the symbolic engine. The differential test against Math-Verify itself is
in tests/tasks/test_math.py."""

from __future__ import annotations

import pytest

from unireward._mathsafe.fastpath import fast_verdict


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
        ("50%", "0.5", None),  # a percentage without backslash
        ("$A$", "$a$", None),
        ("x+1", "1+x", None),
        ("1,000", "1000", None),
        ("[1, 2]", "[1,2]", None),  # a bare interval
        ("$(2, 1)$", "$(2, 1)$", None),  # not an interval: a tuple
    ],
)
def test_verdicts(gold: str, answer: str, expected: bool | None) -> None:
    assert fast_verdict(gold, answer) is expected
