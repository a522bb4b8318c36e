"""A cheap, linear-time screen for expressions whose symbolic evaluation would explode.

Symbolic engines evaluate ``9^{9^{9^{9}}}`` or ``10000000!`` exactly, inside C code, for
minutes. The screen refuses such inputs before any symbolic work starts; what passes still
runs in a killable worker with a hard deadline.
"""

from __future__ import annotations

import re

__all__ = ["MAX_EXPRESSION_CHARS", "refusal"]

#: Longer answers are refused outright (no realistic final answer comes close).
MAX_EXPRESSION_CHARS = 2_000
MAX_NESTING = 40
MAX_EXPONENT_DIGITS = 4  # 10^{9999} is allowed, 10^{10000} is not
MAX_FACTORIAL = 1_000

_DIGITS = re.compile(r"\d+")
_FACTORIAL = re.compile(r"(\d+)\s*\}?\s*!")
_FACTORIAL_CMD = re.compile(r"\\(?:factorial|Gamma|gamma)")


def _exponent_spans(text: str) -> list[str]:
    """The text of every exponent (after ``^`` or ``**``), braces resolved by a scan."""
    spans: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == "^" or text.startswith("**", i):
            j = i + (1 if text[i] == "^" else 2)
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] == "{":
                depth, k = 0, j
                while k < n:
                    if text[k] == "{":
                        depth += 1
                    elif text[k] == "}":
                        depth -= 1
                        if depth == 0:
                            break
                    k += 1
                spans.append(text[j + 1 : k])
            elif j < n and text[j] == "(":
                depth, k = 0, j
                while k < n:
                    if text[k] == "(":
                        depth += 1
                    elif text[k] == ")":
                        depth -= 1
                        if depth == 0:
                            break
                    k += 1
                spans.append(text[j + 1 : k])
            else:
                k = j
                while k < n and (text[k].isalnum() or text[k] in "."):
                    k += 1
                spans.append(text[j:k])
            i = j
        else:
            i += 1
    return spans


def refusal(text: str) -> str | None:
    """Why ``text`` must not reach a symbolic engine, or None when it may.

    >>> refusal("\\\\frac{3}{2}") is None
    True
    >>> refusal("9^{9^{9^{9}}}")
    'nested exponent (power tower)'
    >>> refusal("10000000!")
    'factorial of 10000000'
    """
    if len(text) > MAX_EXPRESSION_CHARS:
        return f"expression longer than {MAX_EXPRESSION_CHARS} characters"
    depth = best = 0
    for ch in text:
        if ch in "{([":
            depth += 1
            best = max(best, depth)
        elif ch in "})]":
            depth -= 1
    if best > MAX_NESTING:
        return f"nesting deeper than {MAX_NESTING}"
    if text.count("^") + text.count("**") > 20:
        return "too many powers"
    for span in _exponent_spans(text):
        if "^" in span or "**" in span:
            return "nested exponent (power tower)"
        for digits in _DIGITS.findall(span):
            if len(digits.lstrip("0")) > MAX_EXPONENT_DIGITS:
                return f"exponent {digits[:20]} too large"
    for m in _FACTORIAL.finditer(text):
        if len(m.group(1)) > 6 or int(m.group(1)) > MAX_FACTORIAL:
            return f"factorial of {m.group(1)[:20]}"
    if _FACTORIAL_CMD.search(text):
        return "factorial or gamma function"
    return None
