"""The PRM800K answer grader, with its last step made safe.

:func:`grade_answer` accepts an answer when

1. the Hendrycks MATH normalisations of answer and gold are equal
   (:func:`normalize_hendrycks`), or
2. the grader's second normalisations are equal (:func:`normalize_second`: ``\\text{}``,
   ``$``, units, braces and spaces removed, lower case, LaTeX rendered as plain text), or
3. both split into the same number of elements (tuples and intervals keep their brackets)
   and every pair of elements is equal: fractions written ``a/b`` must match exactly, an
   integer only matches an integer, everything else is compared by
   :func:`unireward._mathsafe.safe_eval.equal`, which replaces the published grader's
   ``eval``-based sympy parser (same questions, no ``eval``, bounded work).

Inputs longer than :data:`MAX_LATEX_CHARS` skip the LaTeX-to-text rendering (a third-party
parser whose cost on hostile input is not bounded); every other step is linear in the
input size.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .safe_eval import Refused, equal

__all__ = ["MAX_LATEX_CHARS", "grade_answer", "normalize_hendrycks", "normalize_second"]

MAX_LATEX_CHARS = 2_000

_UNITS = (
    "degree",
    "cm",
    "centimeter",
    "meter",
    "mile",
    "second",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
    "foot",
    "feet",
    "inch",
    "yard",
)
# Each pattern is a literal followed by optional groups: no nested quantifiers, linear.
_UNIT_PATTERNS = [re.compile(unit + r"(es)?(s)? *(\^[0-9]+)?") for unit in _UNITS]
_DEGREE_CIRC = re.compile(r"\^ *\\circ")
_THIN_SPACE_COMMA = re.compile(r",\\! *")
_MINUS_SPACES = re.compile(r"- *")
_MIXED_NUMBER = re.compile(r"([0-9]) +([0-9])")
_THOUSANDS = re.compile(r"(\d)(,)(\d\d\d)($|\D)")
_BRACKETS = "()[]"
_PLAIN_FRACTION = re.compile(r"^-?[0-9]+.?/0*[1-9][0-9]*.?$")


def _text_wrapped(s: str, *, allow_final_newline: bool) -> str | None:
    """The inside of a string that is exactly ``\\text{...}`` (one line), else None.

    This is what ``re.search(r"^\\\\text\\{(.+?)\\}$", s)`` finds (``$`` may also match
    before a final newline, ``.`` does not cross newlines).
    """
    if not s.startswith("\\text{"):
        return None
    if s.endswith("}"):
        inner = s[6:-1]
    elif allow_final_newline and s.endswith("}\n"):
        inner = s[6:-2]
    else:
        return None
    if not inner or "\n" in inner:
        return None
    return inner


# ---- first normalisation (Hendrycks MATH) ---------------------------------------------


def _fix_fracs(s: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{72}`` -> ``\\frac{1}{72}``."""
    pieces = s.split("\\frac")
    out = [pieces[0]]
    for piece in pieces[1:]:
        out.append("\\frac")
        if piece[0] == "{":  # IndexError on "\frac" at the end: the caller gives up
            out.append(piece)
            continue
        if len(piece) < 2:
            return s
        a, b, rest = piece[0], piece[1], piece[2:]
        out.append("{" + a + "}" + (b if b == "{" else "{" + b + "}") + rest)
    return "".join(out)


def _fix_a_slash_b(s: str) -> str:
    """``3/4`` -> ``\\frac{3}{4}`` when both sides are plain integers."""
    parts = s.split("/")
    if len(parts) != 2:
        return s
    try:
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        return s
    if s != f"{a}/{b}":
        return s
    return "\\frac{" + str(a) + "}{" + str(b) + "}"


def _fix_sqrt(s: str) -> str:
    """``\\sqrt3`` -> ``\\sqrt{3}``."""
    if "\\sqrt" not in s:
        return s
    pieces = s.split("\\sqrt")
    out = [pieces[0]]
    for piece in pieces[1:]:
        if piece[0] != "{":  # IndexError on "\sqrt" at the end: the caller gives up
            out.append("\\sqrt{" + piece[0] + "}" + piece[1:])
        else:
            out.append("\\sqrt" + piece)
    return "".join(out)


class _GiveUp(Exception):
    pass


def _strip_hendrycks(s: str) -> str:
    for old, new in (
        ("\n", ""),
        ("\\!", ""),
        ("\\\\", "\\"),
        ("tfrac", "frac"),
        ("dfrac", "frac"),
        ("\\left", ""),
        ("\\right", ""),
        ("^{\\circ}", ""),
        ("^\\circ", ""),
        ("\\$", ""),
    ):
        s = s.replace(old, new)
    if "\\text{ " in s:  # a unit written after the value
        pieces = s.split("\\text{ ")
        if len(pieces) != 2:
            raise _GiveUp
        s = pieces[0]
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:  # "k = 5" -> "5"
        s = sides[1]
    s = _fix_sqrt(s)
    s = s.replace(" ", "")
    s = _fix_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _fix_a_slash_b(s)


def normalize_hendrycks(answer: str) -> str:
    """The Hendrycks MATH answer normalisation (the grader's first comparison).

    >>> normalize_hendrycks("\\\\text{C}"), normalize_hendrycks("x = \\\\dfrac12")
    ('C', '\\\\frac{1}{2}')
    >>> normalize_hendrycks(" 50\\\\% "), normalize_hendrycks("3/4")
    ('50', '\\\\frac{3}{4}')
    """
    answer = answer.strip()
    inner = _text_wrapped(answer, allow_final_newline=False)
    if inner is not None:
        answer = inner.strip()
    try:
        return _strip_hendrycks(answer)
    except (_GiveUp, IndexError):
        return answer


# ---- second normalisation --------------------------------------------------------------


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _near_int(x: float) -> bool:
    try:
        return abs(x - int(round(x))) <= 1e-7
    except (OverflowError, ValueError):
        return False


def _strip_thousands(s: str) -> str:
    """Delete commas between thousands groups (``1,000,000`` -> ``1000000``)."""
    if "," not in s:
        return s
    while True:
        nxt = _THOUSANDS.sub(r"\1\3\4", s)
        if nxt == s:
            return nxt
        s = nxt


def _str_is_int(s: str) -> bool:
    try:
        return _near_int(float(_strip_thousands(s)))
    except ValueError:
        return False


@lru_cache(maxsize=2048)
def _latex_to_text(s: str) -> str:
    from pylatexenc import latex2text

    s = s.replace("\\tfrac", "\\frac").replace("\\dfrac", "\\frac").replace("\\frac", " \\frac")
    s = latex2text.LatexNodes2Text().latex_to_text(s)
    for old, new in (("√", "sqrt"), ("π", "pi"), ("∞", "inf"), ("∪", "U"), ("·", "*"), ("×", "*")):
        s = s.replace(old, new)
    return s.strip()


def normalize_second(s: str) -> str:
    """The grader's second normalisation (units, ``\\text{}``, ``$``, braces, spaces, case).

    >>> normalize_second("$ C $"), normalize_second("\\\\text{(C)}"), normalize_second("10 cm")
    ('c', '(c)', '10')
    >>> normalize_second("\\\\frac{1}{2}"), normalize_second("1,000"), normalize_second("7 3/4")
    ('1/2', '1000', '7+3/4')
    """
    inner = _text_wrapped(s, allow_final_newline=True)
    if inner is not None:
        s = inner
    s = s.replace("\\%", "%").replace("\\$", "$").replace("$", "").replace("%", "")
    s = s.replace(" or ", " , ").replace(" and ", " , ")
    s = s.replace("million", "*10^6").replace("billion", "*10^9").replace("trillion", "*10^12")
    for unit in _UNIT_PATTERNS:
        s = unit.sub("", s)
    s = _DEGREE_CIRC.sub("", s)
    if s and s[0] == "{" and s[-1] == "}":
        s = s[1:-1]
    s = _THIN_SPACE_COMMA.sub("", s)
    if _is_float(s) and _near_int(float(s)):
        s = str(int(round(float(s))))
    if "\\" in s and len(s) <= MAX_LATEX_CHARS:
        try:
            s = _latex_to_text(s)
        except Exception:  # noqa: S110 - as the published grader: keep the text as it is
            pass
    s = _MINUS_SPACES.sub("-", s)
    s = _MIXED_NUMBER.sub(r"\1+\2", s)  # a mixed number: 7 3/4 -> 7+3/4
    s = s.replace(" ", "").replace("{", "").replace("}", "").lower()
    if _str_is_int(s):
        s = str(int(float(s.replace(",", ""))))
    return s


# ---- comparison ------------------------------------------------------------------------


def _split_tuple(s: str) -> list[str]:
    s = _strip_thousands(s)
    if not s:
        return []
    if (
        len(s) > 2
        and s[0] in _BRACKETS
        and s[-1] in _BRACKETS
        and not any(ch in _BRACKETS for ch in s[1:-1])
    ):
        return [e.strip() for e in s[1:-1].split(",")]
    return [s]


def _is_plain_fraction(s: str) -> bool:
    """An ``a/b`` fraction as the grader recognises it (the anchored ``/`` keeps the
    pattern linear)."""
    return _PLAIN_FRACTION.search(s) is not None


def _letters(expr: str) -> int:
    return len({c for c in expr.replace("sqrt", "").replace("frac", "") if c.isalpha()})


def _risky_power(expr: str) -> bool:
    """``^{``, ``^(``, a multi-digit exponent or ``^<digits>^`` (the grader's screen)."""
    i = expr.find("^")
    while i != -1:
        j = i + 1
        if j < len(expr) and expr[j] in "{(":
            return True
        k = j
        while k < len(expr) and expr[k] in "0123456789":
            k += 1
        if k - j >= 2 or (k > j and k < len(expr) and expr[k] == "^"):
            return True
        i = expr.find("^", i + 1)
    return False


def _equal_safely(gold: str, given: str) -> bool:
    expr = f"({gold})-({given})"
    if _letters(expr) > 2 or _risky_power(expr):
        return False
    try:
        return equal(gold, given)
    except (Refused, ArithmeticError, ValueError, RecursionError):
        return False


def grade_answer(given: str | None, gold: str) -> bool:
    """Whether ``given`` matches ``gold`` under the PRM800K grader.

    >>> [grade_answer(a, "C") for a in ["(c)", "[C]", "$\\\\boxed{C}$", "C.", "Option C"]]
    [True, True, True, False, False]
    >>> grade_answer("\\\\frac{1}{2}", "0.5"), grade_answer("2/4", "1/2"), grade_answer("3.0", "3")
    (True, False, True)
    """
    if given is None:
        return False
    if normalize_hendrycks(gold) == normalize_hendrycks(given):
        return True
    g = normalize_second(gold)
    a = normalize_second(given)
    if g == a:
        return True
    if not a:
        return False
    g_elems, a_elems = _split_tuple(g), _split_tuple(a)
    if len(g_elems) > 1 and (g[0] != a[0] or g[-1] != a[-1]):
        return False
    if len(g_elems) != len(a_elems):
        return False
    for ge, ae in zip(g_elems, a_elems, strict=True):
        if _is_plain_fraction(ge) and _is_plain_fraction(ae):
            ok = ge == ae  # unreduced fractions must match exactly
        elif _str_is_int(ge) != _str_is_int(ae):
            ok = False  # an integer answer must match an integer exactly
        else:
            ok = _equal_safely(ge, ae)
        if not ok:
            return False
    return True
