"""The PRM800K answer grader (Hendrycks MATH normalisation, a second normalisation, then an
element-wise comparison), with its last step made safe.

The published grader's final step hands ``"(gold)-(answer)"`` to sympy's ``eval``-based
parser; here :func:`unireward._mathsafe.safe_eval.equal` decides instead (exact rational
arithmetic, numeric checks for radicals and variables, bounded work). Inputs longer than
:data:`MAX_CHARS` are compared by the first normalisation only.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .safe_eval import Refused, equal

__all__ = ["MAX_CHARS", "grade_answer", "normalize_hendrycks", "normalize_second"]

MAX_CHARS = 2_000

_TEXT_WRAPPED = re.compile(r"^\\text\{(?P<text>.+?)\}$", re.DOTALL)
_UNITS = (
    "degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day",
    "week", "month", "year", "foot", "feet", "inch", "yard",
)
_UNIT_RES = [re.compile(rf"{u}(es)?(s)? *(\^[0-9]+)?") for u in _UNITS]
_CIRC = re.compile(r"\^ *\\circ")
_THIN_SPACE_COMMA = re.compile(r",\\! *")
_MINUS_SPACE = re.compile(r"- *")
_MIXED_NUMBER = re.compile(r"([0-9]) +([0-9])")
_THOUSANDS = re.compile(r"(\d)(,)(\d\d\d)($|\D)")
_FRACTION = re.compile(r"^-?[0-9]+.?/0*[1-9][0-9]*.?$")
_TUPLE_CHARS = "()[]"


# ---- first normalisation (Hendrycks MATH) ---------------------------------------------


def _fix_fracs(s: str) -> str:
    pieces = s.split("\\frac")
    out = pieces[0]
    for piece in pieces[1:]:
        out += "\\frac"
        if not piece:
            raise ValueError("\\frac with nothing after it")
        if piece[0] == "{":
            out += piece
            continue
        if len(piece) < 2:
            return s
        a, b, rest = piece[0], piece[1], piece[2:]
        out += "{" + a + "}" + ("{" + b + "}" if b != "{" else b) + rest
    return out


def _fix_a_slash_b(s: str) -> str:
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
    if "\\sqrt" not in s:
        return s
    pieces = s.split("\\sqrt")
    out = pieces[0]
    for piece in pieces[1:]:
        if not piece:
            raise ValueError("\\sqrt with nothing after it")
        if piece[0] != "{":
            out += "\\sqrt{" + piece[0] + "}" + piece[1:]
        else:
            out += "\\sqrt" + piece
    return out


def _strip(s: str) -> str:
    for old, new in (
        ("\n", ""), ("\\!", ""), ("\\\\", "\\"), ("tfrac", "frac"), ("dfrac", "frac"),
        ("\\left", ""), ("\\right", ""), ("^{\\circ}", ""), ("^\\circ", ""), ("\\$", ""),
    ):
        s = s.replace(old, new)
    if "\\text{ " in s:  # units written after the value
        pieces = s.split("\\text{ ")
        if len(pieces) != 2:
            raise ValueError("several unit blocks")
        s = pieces[0]
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]
    s = _fix_sqrt(s)
    s = s.replace(" ", "")
    s = _fix_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _fix_a_slash_b(s)


def normalize_hendrycks(answer: str) -> str:
    """The Hendrycks MATH answer normalisation.

    >>> normalize_hendrycks("\\\\text{C}"), normalize_hendrycks("x = \\\\dfrac12")
    ('C', '\\\\frac{1}{2}')
    """
    answer = answer.strip()
    try:
        m = _TEXT_WRAPPED.search(answer)
        if m is not None:
            answer = m.group("text").strip()
        return _strip(answer)
    except Exception:
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


@lru_cache(maxsize=4096)
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
    """
    m = _TEXT_WRAPPED.search(s)
    if m is not None:
        s = m.group("text")
    s = s.replace("\\%", "%").replace("\\$", "$").replace("$", "").replace("%", "")
    s = s.replace(" or ", " , ").replace(" and ", " , ")
    s = s.replace("million", "*10^6").replace("billion", "*10^9").replace("trillion", "*10^12")
    for unit in _UNIT_RES:
        s = unit.sub("", s)
    s = _CIRC.sub("", s)
    if s and s[0] == "{" and s[-1] == "}":
        s = s[1:-1]
    s = _THIN_SPACE_COMMA.sub("", s)
    if _is_float(s) and _near_int(float(s)):
        s = str(int(round(float(s))))
    if "\\" in s:
        try:
            s = _latex_to_text(s)
        except Exception:  # noqa: S110 - like the grader: keep the text as it is
            pass
    s = _MINUS_SPACE.sub("-", s)
    s = _MIXED_NUMBER.sub(r"\1+\2", s)
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
        and s[0] in _TUPLE_CHARS
        and s[-1] in _TUPLE_CHARS
        and not any(ch in s[1:-1] for ch in _TUPLE_CHARS)
    ):
        return [e.strip() for e in s[1:-1].split(",")]
    return [s]


def _too_many_letters(expr: str) -> bool:
    letters = {c for c in expr.replace("sqrt", "").replace("frac", "") if c.isalpha()}
    return len(letters) > 2


_RISKY = re.compile(r"\^[0-9]+\^|\^[0-9][0-9]+")


def _equal_safely(gold: str, given: str) -> bool:
    expr = f"({gold})-({given})"
    if _too_many_letters(expr) or "^{" in expr or "^(" in expr or _RISKY.search(expr):
        return False
    try:
        return equal(gold, given)
    except (Refused, ArithmeticError, ValueError, OverflowError, KeyError):
        return False


def grade_answer(given: str | None, gold: str) -> bool:
    """Whether ``given`` matches ``gold`` under the PRM800K grader.

    >>> [grade_answer(a, "C") for a in ["(c)", "[C]", "$\\\\boxed{C}$", "C.", "Option C"]]
    [True, True, True, False, False]
    """
    if given is None:
        return False
    if len(given) > MAX_CHARS or len(gold) > MAX_CHARS:
        return given.strip() == gold.strip()
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
        if _FRACTION.search(ge) and _FRACTION.search(ae):
            ok = ge == ae
        elif _str_is_int(ge) != _str_is_int(ae):
            ok = False
        else:
            ok = _equal_safely(ge, ae)
        if not ok:
            return False
    return True
