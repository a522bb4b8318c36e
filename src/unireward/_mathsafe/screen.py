"""A cheap, linear-time screen for expressions whose symbolic evaluation would explode.

Symbolic engines evaluate ``9^{9^{9^{9}}}`` or ``10000000!`` exactly, inside C code that
holds the GIL, for minutes. :func:`refusal` says why a text must not reach the engine;
what passes still runs in a killable worker with a hard deadline (the screen is the cheap
first line, the deadline the guarantee).

Refused:

- texts longer than :data:`MAX_EXPRESSION_CHARS` or with brackets nested deeper than
  :data:`MAX_NESTING`, or with more than :data:`MAX_POWERS` powers;
- an exponent with an integer of more than :data:`MAX_EXPONENT_DIGITS` digits
  (``10^{100000}``);
- a power of a numeric power above about ``10**(10**6)`` (``(10^{9999})^{9999}``);
- power towers: three levels (``a^{b^{c}}`` with anything in ``c``), two levels whose inner
  power is a number above about ``10**5`` (``2^{9^{9}}``; ``e^{x^2}`` and ``2^{3^{2}}``
  pass), and numeric chains ``9^9^9`` / ``9**9**9``;
- factorials of integers above :data:`MAX_FACTORIAL`, and of bracketed groups holding a
  power, a factorial or a number of more than three digits (``(10^6)!``, ``(5!)!``).

Every check is a single pass (brackets are matched once with a stack).
"""

from __future__ import annotations

import math

__all__ = [
    "MAX_EXPONENT_DIGITS",
    "MAX_EXPRESSION_CHARS",
    "MAX_FACTORIAL",
    "MAX_NESTING",
    "MAX_TEXT_CHARS",
    "MAX_POWERS",
    "refusal",
]

#: Longer expressions are refused outright (the math scorer screens what Math-Verify's
#: extraction keeps, not the text around it).
MAX_EXPRESSION_CHARS = 10_000
#: Whole texts (answers, ground truths) longer than this are refused before extraction.
MAX_TEXT_CHARS = 100_000
MAX_NESTING = 40
MAX_POWERS = 200
#: ``10^{9999}`` is allowed, ``10^{10000}`` is not.
MAX_EXPONENT_DIGITS = 4
#: log10 bound of the inner power of a two-level tower.
MAX_INNER_POWER_LOG10 = 5
MAX_FACTORIAL = 1_000
#: log10 bound of a power of a numeric power.
MAX_RESULT_LOG10 = 1_000_000

_OPEN = {"}": "{", ")": "(", "]": "["}
_DIGITS = "0123456789"


def _match_brackets(text: str) -> tuple[dict[int, int], int]:
    """Positions of matching brackets (both ways) and the deepest nesting."""
    match: dict[int, int] = {}
    stack: list[tuple[str, int]] = []
    deepest = 0
    for i, ch in enumerate(text):
        if ch in "{([":
            stack.append((ch, i))
            deepest = max(deepest, len(stack))
        elif ch in _OPEN:
            # pop to the nearest opener of the same kind (tolerates stray brackets)
            for k in range(len(stack) - 1, max(-1, len(stack) - 4), -1):
                if stack[k][0] == _OPEN[ch]:
                    j = stack[k][1]
                    del stack[k:]
                    match[i] = j
                    match[j] = i
                    break
    return match, deepest


def _caret_positions(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``(position, operator length)`` of each ``^`` and ``**`` in ``text[start:end]``."""
    out = []
    i = start
    while i < end:
        if text[i] == "^":
            out.append((i, 1))
        elif text[i] == "*" and i + 1 < end and text[i + 1] == "*":
            out.append((i, 2))
            i += 1
        i += 1
    return out


def _exponent_span(text: str, match: dict[int, int], after: int) -> tuple[int, int]:
    """``(start, end)`` of the exponent that begins at ``after`` (braces resolved)."""
    n = len(text)
    j = after
    while j < n and text[j] in " \t":
        j += 1
    if j < n and text[j] in "{(" and j in match:
        return j + 1, match[j]
    if j < n and text[j] == "\\":  # a command and its braced arguments: \frac{1}{2}
        k = j + 1
        while k < n and text[k].isalpha():
            k += 1
        while k < n and text[k] == "{" and k in match:
            k = match[k] + 1
        return j, k
    k = j
    if k < n and text[k] in "+-":
        k += 1
    while k < n and (text[k].isalnum() or text[k] == "."):
        k += 1
    return j, k


def _longest_digit_run(text: str, start: int, end: int) -> int:
    best = run = 0
    for i in range(start, end):
        if text[i] in _DIGITS:
            run += 1
            best = max(best, run)
        else:
            run = 0
    return best


def _digit_count(text: str, start: int, end: int) -> int:
    return sum(1 for i in range(start, end) if text[i] in _DIGITS)


def _has_letters(text: str, start: int, end: int) -> bool:
    return any(text[i].isalpha() for i in range(start, end))


def _base_span(text: str, match: dict[int, int], caret: int) -> tuple[int, int]:
    """The base written just before the power operator at ``caret``."""
    k = caret - 1
    while k >= 0 and text[k] in " \t":
        k -= 1
    if k >= 0 and text[k] in "})]" and k in match:
        return match[k], k + 1
    j = k
    while j >= 0 and (text[j].isalnum() or text[j] == "."):
        j -= 1
    return j + 1, k + 1


def _inner_power_log10(text: str, match: dict[int, int], caret: int, width: int) -> float:
    """A rough upper bound of log10 of the inner power at ``caret``; 0 when symbolic."""
    bs, be = _base_span(text, match, caret)
    es, ee = _exponent_span(text, match, caret + width)
    if _has_letters(text, bs, be) or _has_letters(text, es, ee):
        return 0.0
    base_digits = _digit_count(text, bs, be)
    if base_digits == 0:
        return 0.0
    base_text = text[bs:be].strip()
    if base_text.isdigit() and len(base_text) <= 6:
        base_log = math.log10(max(int(base_text), 2))
    else:
        base_log = float(base_digits)
    exp_text = text[es:ee].strip()
    if exp_text.isdigit() and len(exp_text) <= 6:
        exponent = int(exp_text)
    else:
        exponent = 10 ** min(_digit_count(text, es, ee), 7)
    return base_log * exponent


def _factorial_refusal(text: str, match: dict[int, int]) -> str | None:
    i = text.find("!")
    while i != -1:
        if i > 0 and text[i - 1] == "\\":  # \! is a LaTeX thin space
            i = text.find("!", i + 1)
            continue
        k = i - 1
        while k >= 0 and text[k] in " \t":
            k -= 1
        if k >= 0 and text[k] in _DIGITS:
            j = k
            while j >= 0 and text[j] in _DIGITS:
                j -= 1
            digits = text[j + 1 : k + 1].lstrip("0")
            if len(digits) > 4 or (digits and int(digits) > MAX_FACTORIAL):
                return f"factorial of {digits[:20]}"
        elif k >= 0 and text[k] in "})]" and k in match:
            j = match[k]
            inner = text[j + 1 : k]
            if "^" in inner or "!" in inner.replace("\\!", "") or "**" in inner:
                return "factorial of a power or factorial"
            if _longest_digit_run(text, j + 1, k) > 3:
                return "factorial of a large number"
        i = text.find("!", i + 1)
    return None


def refusal(text: str) -> str | None:
    """Why ``text`` must not reach a symbolic engine, or None when it may.

    >>> refusal("\\\\frac{3}{2}") is None, refusal("e^{-x^2}") is None, refusal("2^{3^{2}}")
    (True, True, None)
    >>> refusal("9^{9^{9^{9}}}")
    'power tower (three levels)'
    >>> refusal("2^{9^{9}}"), refusal("2^{2^{10}}")
    ('power tower (the exponent 9^{9} is too large)', None)
    >>> refusal("\\\\left(10^{9999}\\\\right)^{9999}"), refusal("(2^{10})^{3}")
    ('power of a power too large', None)
    >>> refusal("10000000!")
    'factorial of 10000000'
    >>> refusal("1+" * 10_000)
    'longer than 10000 characters'
    """
    if len(text) > MAX_EXPRESSION_CHARS:
        return f"longer than {MAX_EXPRESSION_CHARS} characters"
    match, deepest = _match_brackets(text)
    if deepest > MAX_NESTING:
        return f"brackets nested deeper than {MAX_NESTING}"
    carets = _caret_positions(text, 0, len(text))
    if len(carets) > MAX_POWERS:
        return f"more than {MAX_POWERS} powers"
    for pos, width in carets:
        es, ee = _exponent_span(text, match, pos + width)
        if _longest_digit_run(text, es, ee) > MAX_EXPONENT_DIGITS:
            digits = text[es:ee].strip()
            return f"exponent {digits[:20]} too large"
        for inner, iw in _caret_positions(text, es, ee):
            ies, iee = _exponent_span(text, match, inner + iw)
            if _caret_positions(text, ies, iee):
                return "power tower (three levels)"
            if _inner_power_log10(text, match, inner, iw) > MAX_INNER_POWER_LOG10:
                bs, be = _base_span(text, match, inner)
                shown = text[bs : iee + (1 if match.get(ies - 1) == iee else 0)].strip()[:20]
                return f"power tower (the exponent {shown} is too large)"
        # a power of a numeric power: (10^{9999})^{9999}
        bs, be = _base_span(text, match, pos)
        outer = text[es:ee].strip()
        if be - bs > 2 and text[be - 1] in "})]" and outer.isdigit() and len(outer) <= 6:
            inner_log = max(
                (_inner_power_log10(text, match, c, w) for c, w in _caret_positions(text, bs, be)),
                default=0.0,
            )
            if inner_log * int(outer) > MAX_RESULT_LOG10:
                return "power of a power too large"
        # a chain a^b^c: the next operator follows the exponent directly
        braced = es > 0 and match.get(es - 1) == ee
        k = ee + 1 if braced else ee
        while k < len(text) and text[k] in " \t":
            k += 1
        if (text.startswith("^", k) or text.startswith("**", k)) and not _has_letters(text, es, ee):
            if _digit_count(text, es, ee):
                return "power tower (chained powers)"
    return _factorial_refusal(text, match)
