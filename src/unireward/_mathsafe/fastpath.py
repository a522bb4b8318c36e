"""Exact, cheap answers for the realistic math pairs that need no symbolic engine.

:func:`fast_verdict` returns what Math-Verify's ``verify(parse(gold), parse(answer))``
returns for pairs written in a small grammar, or None when it cannot be sure (the caller
then asks Math-Verify in the worker process). The grammar, after surrounding ``$...$``,
``$$...$$``, ``\\(...\\)``, ``\\[...\\]`` or ``\\boxed{...}`` are removed:

- integers and decimals (``-12``, ``3.50``), ``\\frac{a}{b}`` (also ``\\dfrac``,
  ``\\tfrac``) and ``a/b`` with integer ``a``, ``b``, a leading ``-`` allowed;
- outside math delimiters only, ``N\\%`` (Math-Verify drops the ``\\%`` there and reads
  ``N``); a single letter, ``\\dfrac{a}{b}`` or ``\\tfrac{a}{b}`` there is extracted as
  nothing by Math-Verify, so such a pair never matches;
- inside math delimiters only, intervals ``(a, b)``, ``[a, b]``, ``(a, b]``, ``[a, b)``
  of such numbers with ``a < b``.

Math-Verify compares numbers involving a decimal after rounding to 6 places, in sympy
floats; that rounding is not reproduced. Instead the verdict is given only where it cannot
depend on it: exactly equal values match; two exact values (integers, fractions) that
differ do not match; values that differ by more than ``1e-4`` relative do not match;
anything closer is left to Math-Verify.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import NamedTuple

__all__ = ["fast_verdict"]

_MAX_CHARS = 200
_NUM = r"-?(?:\d{1,60}(?:\.\d{1,60})?|\\[dt]?frac\{\d{1,60}\}\{\d{1,60}\}|\d{1,60}/\d{1,60})"
_NUMBER = re.compile(_NUM)
_PERCENT = re.compile(r"(-?\d{1,60}(?:\.\d{1,60})?)\\%")
_INTERVAL = re.compile(rf"([(\[])\s?({_NUM})\s?,\s?({_NUM})\s?([)\]])")
_LETTER = re.compile(r"[A-Za-z]")
_FRAC = re.compile(r"(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}")


class _Num(NamedTuple):
    value: Fraction
    inexact: bool  # written with a decimal point


class _Interval(NamedTuple):
    left: str
    low: _Num
    high: _Num
    right: str


_EMPTY = "empty"  # Math-Verify extracts nothing: the pair never matches


def _boxed_inner(s: str) -> str | None:
    if not (s.startswith("\\boxed{") and s.endswith("}")):
        return None
    depth = 0
    for i in range(6, len(s)):
        if s[i] == "{":
            depth += 1
        elif s[i] == "}":
            depth -= 1
            if depth == 0 and i != len(s) - 1:
                return None
    return s[7:-1] if depth == 0 else None


def _unwrap(text: str) -> tuple[str, bool]:
    """Remove surrounding math delimiters; returns the content and whether any was removed."""
    s = text.strip()
    math_mode = False
    for _ in range(3):
        if len(s) >= 4 and s.startswith("$$") and s.endswith("$$"):
            s = s[2:-2].strip()
        elif len(s) >= 2 and s.startswith("$") and s.endswith("$"):
            s = s[1:-1].strip()
        elif len(s) >= 4 and s[:2] in ("\\(", "\\[") and s[-2:] == ("\\)" if s[1] == "(" else "\\]"):
            s = s[2:-2].strip()
        else:
            inner = _boxed_inner(s)
            if inner is None:
                break
            s = inner.strip()
        math_mode = True
    return s, math_mode


def _number(s: str) -> _Num | None:
    if _NUMBER.fullmatch(s) is None:
        return None
    m = _FRAC.fullmatch(s)
    if m is not None:
        num, den = int(m.group(2)), int(m.group(3))
        if den == 0:
            return None
        value = Fraction(num, den)
        return _Num(-value if m.group(1) else value, False)
    if "/" in s:
        num_s, den_s = s.split("/")
        if int(den_s) == 0:
            return None
        return _Num(Fraction(int(num_s), int(den_s)), False)
    return _Num(Fraction(s), "." in s)


def _classify(text: str) -> _Num | _Interval | str | None:
    if len(text) > _MAX_CHARS:
        return None
    s, math_mode = _unwrap(text)
    num = _number(s)
    if num is not None:
        if not math_mode and ("\\dfrac" in s or "\\tfrac" in s):
            return _EMPTY  # Math-Verify does not extract a bare \dfrac / \tfrac
        return num
    if not math_mode:
        if _LETTER.fullmatch(s):
            return _EMPTY
        m = _PERCENT.fullmatch(s)
        if m is not None:
            return _number(m.group(1))
        return None
    m = _INTERVAL.fullmatch(s)
    if m is not None:
        low, high = _number(m.group(2)), _number(m.group(3))
        if low is not None and high is not None and low.value < high.value:
            return _Interval(m.group(1), low, high, m.group(4))
    return None


def _same_number(a: _Num, b: _Num) -> bool | None:
    if a.value == b.value:
        return True
    if not (a.inexact or b.inexact):
        return False
    scale = max(Fraction(1), abs(a.value), abs(b.value))
    if abs(a.value - b.value) > scale / 10_000:
        return False
    return None


def fast_verdict(gold: str, answer: str) -> bool | None:
    """Math-Verify's verdict for a pair in the fast grammar, or None when unsure.

    >>> fast_verdict("-1.5", "$$-\\\\dfrac{3}{2}$$"), fast_verdict("40", "\\\\boxed{40}")
    (True, True)
    >>> fast_verdict("7", "8"), fast_verdict("C", "C"), fast_verdict("3", "3.0000001")
    (False, False, None)
    >>> fast_verdict("$[1, 2]$", "$[1,2]$"), fast_verdict("$(1, 2)$", "$[1, 2]$")
    (True, False)
    """
    g = _classify(gold)
    a = _classify(answer)
    if g == _EMPTY or a == _EMPTY:
        return False
    if isinstance(g, _Num) and isinstance(a, _Num):
        return _same_number(g, a)
    if isinstance(g, _Interval) and isinstance(a, _Interval):
        low = _same_number(g.low, a.low)
        high = _same_number(g.high, a.high)
        if low is False or high is False:
            return False
        if (g.left, g.right) != (a.left, a.right):
            return False if (low and high) else None
        return True if (low and high) else None
    return None
