"""Math-Verify's verdicts, computed exactly and natively for the common subset.

:func:`read` turns one text into a :data:`Value` (or None when it is outside the subset)
and :func:`compare` returns what Math-Verify's ``verify(parse(gold), parse(answer))``
returns for two values, or None when it cannot be sure; the caller then asks
Math-Verify. A ground truth is read once per batch and reused for all its rollouts.

The subset, after surrounding ``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]`` or
``\\boxed{...}`` are removed ("math mode"):

- numbers: integers and decimals (``-12``, ``3.50``), ``\\frac{a}{b}`` (also ``\\dfrac``,
  ``\\tfrac``) and ``a/b`` with integer ``a``, ``b``, a leading ``-`` allowed; outside
  math mode only, ``N\\%`` (Math-Verify drops the ``\\%`` there and reads ``N``); a
  single letter, ``\\dfrac{a}{b}`` or ``\\tfrac{a}{b}`` outside math mode is extracted as
  nothing by Math-Verify, so such a pair never matches;
- units: outside math mode a number and one lower-case word (``5 cm``), in math mode a
  number followed by ``\\text{...}`` (also ``\\mbox``, ``\\mathrm``, maybe squared):
  Math-Verify keeps the number and drops the unit;
- percents of natural numbers: ``$a\\%$`` in math mode, ``a%`` outside; against a
  number, its digits (Math-Verify's "9% is 9" rule) or its value ``a/100`` match;
- a text without any digit, ``$``, ``\\`` or ``[`` (an answer in words): Math-Verify's
  extraction finds nothing in it, so it never matches;
- in math mode: exact expressions built from integers, the variables
  ``x y z n k`` (letters that Math-Verify's unit stripping and constants leave alone),
  ``\\pi``, ``e`` (Euler's number there), ``+ - \\cdot \\times``, implicit products,
  a division by an integer or a bracket that ends a term (``\\pi/4``, ``(x+1)/(x-2)``),
  ``\\frac{}{}``, ``\\sqrt{}``, integer powers ``^2`` / ``^{...}``, brackets, and
  ``\\sin \\cos \\tan \\cot \\ln \\exp`` or ``e^{...}`` of an expression with a variable
  (``\\sin(3x)``, or ``\\sin 3x`` ending the text); their value is an exact polynomial
  over the variables, ``\\pi``, ``e``, square roots and function applications
  (:mod:`.safe_eval`'s model, rationals only, no floats), or, for an expression with a
  variable that is no polynomial (a quotient of sums, the root of a sum), a
  :class:`Formula` evaluated at points;
- in math mode: an assignment ``v = expr`` (Math-Verify compares its right-hand side
  with a non-equation, and two assignments by variable and value), intervals
  ``(a, b)``, ``[a, b]``, ``(a, b]``, ``[a, b)`` of numbers with ``a < b``, sets
  ``\\{a, b, ...\\}`` of exact numbers, tuples ``(a, b, ...)`` of numbers (three or more,
  or two with ``a >= b``), ``pmatrix`` / ``bmatrix`` of numbers.

Comparison rules (Math-Verify's, restricted to where they are certain):

- numbers: exactly equal values match; two exact values (integers, fractions) that
  differ do not; values that differ by more than ``1e-4`` relative do not; anything
  closer is left to Math-Verify (its 6-digit rounding of floats decides there);
- exact expressions match when their polynomials are equal (Math-Verify's ``simplify``
  of the difference is 0) and do not when they differ (constants only when they differ
  by more than ``1e-9`` relative); a side that is a single variable is left to
  Math-Verify unless both are written as one letter (its symbol rule compares names);
- expressions with functions: equal polynomials match; values more than ``1e-6``
  (relative) apart at one of two fixed points do not (as functions they differ, so no
  simplification makes them equal); the rest is left to Math-Verify;
- formulas: quotients ``p/q`` and ``r/s`` with ``ps = rq`` exactly match; real values
  clearly apart at a point do not; the rest is left to Math-Verify;
- intervals: same brackets and endpoints; sets: the same elements;
- tuples: element by element; against an open interval ``(a, b)``, its ends in order;
  never a closed or half-open interval; matrices: same shape and elements, never a tuple
  or an interval.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import NamedTuple

from . import safe_eval

__all__ = ["EMPTY", "Formula", "Matrix", "NumTuple", "Value", "compare", "read", "verdict"]

#: Longer texts are left to Math-Verify.
MAX_CHARS = 200
_NUM = r"-?(?:\d{1,60}(?:\.\d{1,60})?|\\[dt]?frac\{\d{1,60}\}\{\d{1,60}\}|\d{1,60}/\d{1,60})"
_NUMBER = re.compile(_NUM)
_PERCENT = re.compile(r"(-?\d{1,60}(?:\.\d{1,60})?)\\%")
_SET = re.compile(rf"\\\{{\s?({_NUM}(?:\s?,\s?{_NUM}){{0,19}})\s?\\\}}")
_LETTER = re.compile(r"[A-Za-z]")
# a number followed by one word (a unit): Math-Verify's extraction keeps the number
_NUMBER_WORD = re.compile(r"(-?\d{1,60}(?:\.\d{1,60})?) ([a-z]{1,12})")
_PERCENT_WORDS = ("percent", "percentage", "pct")
_MATH_PERCENT = re.compile(r"(\d{1,30})\s?\\%")
_PLAIN_PERCENT = re.compile(r"(\d{1,30})%")
# a number in $...$ followed by one word (a unit): extraction keeps the number
_MATH_NUMBER_WORD = re.compile(rf"\$({_NUM})\$ ([a-z]{{1,12}})")
# a trailing \text{...} (also \mbox, \mathrm), maybe squared: Math-Verify drops it as a unit
_UNIT = re.compile(r"(.+?)\s?\\(?:text|mbox|mathrm)\{([^{}\\$]{0,30})\}(?:\^\d|\{\^\d\})?")
_FRAC = re.compile(r"(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}")
#: Variables of the expression subset (see the module docs).
VARIABLES = frozenset("xyznk")


class Num(NamedTuple):
    value: Fraction
    inexact: bool  # written with a decimal point


class Expr(NamedTuple):
    """An exact polynomial (``frozenset`` of ``(monomial, coefficient)``) and whether the
    text was a single letter."""

    poly: frozenset[tuple[tuple[tuple[str, Fraction], ...], Fraction]]
    letter: str | None


class Infinity(NamedTuple):
    sign: int  # -1 or +1


class Interval(NamedTuple):
    left: str
    low: Num | Expr | Infinity
    high: Num | Expr | Infinity
    right: str


class Percent(NamedTuple):
    """``a\\%`` with a natural number ``a`` (Math-Verify keeps ``a`` times 1/100)."""

    value: int


class NumSet(NamedTuple):
    values: frozenset[Fraction]


class Assignment(NamedTuple):
    variable: str
    value: Num | Expr


class NumTuple(NamedTuple):
    """An ordered tuple of numbers, ``(5, 3)`` (Math-Verify reads ``(a, b)`` with ``a < b``
    as an open interval instead)."""

    items: tuple[Num, ...]


class Matrix(NamedTuple):
    """A ``pmatrix`` or ``bmatrix`` of numbers, row by row."""

    rows: tuple[tuple[Num, ...], ...]


class Formula(NamedTuple):
    """An expression with a variable that is no polynomial over the atoms (a division by a
    sum, the root of a sum, a function of such): only its values at points are used."""

    node: tuple


class _Empty(NamedTuple):
    pass


#: Math-Verify extracts nothing from the text: the pair never matches.
EMPTY = _Empty()

Value = (Num | Expr | Formula | Interval | NumSet | Assignment | Percent | NumTuple | Matrix
         | _Empty)


_CLOSE = str.maketrans("([", ")]")


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
        elif len(s) >= 4 and s[:2] in ("\\(", "\\[") and s[-2:] == s[:2].translate(_CLOSE):
            s = s[2:-2].strip()
        else:
            inner = _boxed_inner(s)
            if inner is None:
                break
            s = inner.strip()
        math_mode = True
    return s, math_mode


def _number(s: str) -> Num | None:
    if _NUMBER.fullmatch(s) is None:
        return None
    m = _FRAC.fullmatch(s)
    if m is not None:
        num, den = int(m.group(2)), int(m.group(3))
        if den == 0:
            return None
        value = Fraction(num, den)
        return Num(-value if m.group(1) else value, False)
    if "/" in s:
        num_s, den_s = s.split("/")
        if int(den_s) == 0:
            return None
        return Num(Fraction(int(num_s), int(den_s)), False)
    return Num(Fraction(s), "." in s)


# ---- the LaTeX expression subset ---------------------------------------------------------

#: Functions of the expression subset, applied to an argument with a variable.
_FUNCTIONS = {"\\sin": math.sin, "\\cos": math.cos, "\\tan": math.tan,
              "\\cot": lambda v: 1 / math.tan(v), "\\exp": math.exp, "\\ln": math.log}
_COMMANDS = {"\\frac", "\\dfrac", "\\tfrac", "\\sqrt", "\\pi", "\\cdot", "\\times", "\\left",
             "\\right", *_FUNCTIONS}
_IMPLICIT = frozenset({*VARIABLES, "\\pi", "e", "\\frac", "\\sqrt", "(", *_FUNCTIONS})


class _Unsure(Exception):
    """Outside the subset: Math-Verify decides."""


def _tokens(s: str) -> list[str]:
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        if ch == " ":
            i += 1
        elif ch.isdigit():
            j = i
            while j < n and s[j].isdigit():
                j += 1
            if j < n and s[j] == ".":
                raise _Unsure  # a float inside an expression
            out.append(s[i:j])
            i = j
        elif ch == "\\":
            j = i + 1
            while j < n and s[j].isalpha():
                j += 1
            cmd = s[i:j]
            if cmd not in _COMMANDS:
                raise _Unsure
            if cmd in ("\\left", "\\right"):
                if j < n and s[j] in "()":
                    i = j  # \left( and \right) are plain brackets
                    continue
                raise _Unsure
            out.append("\\frac" if cmd in ("\\dfrac", "\\tfrac") else cmd)
            i = j
        elif ch in VARIABLES or ch in "+-*/^(){}" or ch == "e":
            out.append(ch)
            i += 1
        else:
            raise _Unsure
    return out


class _Parser:
    """Recursive descent over :func:`_tokens` into :mod:`.safe_eval` nodes."""

    def __init__(self, tokens: list[str]) -> None:
        self.t = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, want: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (want is not None and tok != want):
            raise _Unsure
        self.i += 1
        return tok

    def expr(self) -> tuple:
        self.depth += 1
        if self.depth > 20:
            raise _Unsure
        if self.peek() == "-":
            self.take()
            node: tuple = ("neg", self.term())
        else:
            node = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            node = (op, node, self.term())
        self.depth -= 1
        return node

    def term(self) -> tuple:
        node = self.power()
        while True:
            tok = self.peek()
            if tok in ("\\cdot", "\\times", "*"):
                self.take()
                node = ("*", node, self.power())
            elif tok == "/":
                # only an integer divisor that ends the term: a/b c is read differently
                self.take()
                divisor = self.take()
                if divisor == "(":  # a bracketed divisor: (x+1)/(x-2)
                    den = self.expr()
                    self.take(")")
                elif divisor.isdigit():
                    den = ("int", Fraction(int(divisor)))
                else:
                    raise _Unsure
                if self.peek() not in (None, "+", "-", ")", "}"):
                    raise _Unsure
                node = ("/", node, den)
            elif tok in _IMPLICIT:
                before = self.t[self.i - 1]
                if tok == "\\frac" and not (before in VARIABLES or before in ("\\pi", "e")):
                    raise _Unsure  # 2\frac{1}{3} is a mixed number there
                node = ("*", node, self.power())  # implicit product (never before a digit)
            else:
                return node

    def power(self) -> tuple:
        base = self.atom()
        if self.peek() == "^":
            self.take()
            tok = self.take()
            if tok == "{":
                exponent = self.expr()
                self.take("}")
            elif tok.isdigit() and len(tok) == 1:
                exponent = ("int", Fraction(int(tok)))
            elif tok in VARIABLES and base == ("atom", "E"):
                exponent = ("atom", tok)  # e^x
            else:
                raise _Unsure
            if self.peek() == "^":
                raise _Unsure  # a^b^c
            return ("^", base, exponent)
        return base

    def atom(self) -> tuple:
        tok = self.take()
        if tok.isdigit():
            if len(tok) > 30:
                raise _Unsure
            return ("int", Fraction(int(tok)))
        if tok in VARIABLES:
            return ("atom", tok)
        if tok == "\\pi":
            return ("atom", "pi")
        if tok == "e":
            return ("atom", "E")  # Euler's number there
        if tok in ("(", "{"):
            inner = self.expr()
            self.take(")" if tok == "(" else "}")
            return inner
        if tok == "\\frac":
            self.take("{")
            num = self.expr()
            self.take("}")
            self.take("{")
            den = self.expr()
            self.take("}")
            return ("/", num, den)
        if tok == "\\sqrt":
            self.take("{")
            inner = self.expr()
            self.take("}")
            return ("sqrt", inner)
        if tok in _FUNCTIONS:
            return self.application(tok)
        raise _Unsure

    def application(self, name: str) -> tuple:
        """``\\sin(arg)``, or ``\\sin 3x`` ending the text; nothing but ``+ - ) }`` or
        another function (``\\sin(x)\\cos(x)``, a product) may follow (``\\sin(x)^2``,
        ``\\sin(x) y`` are left to Math-Verify)."""
        if self.peek() == "(":
            self.take()
            arg = self.expr()
            self.take(")")
            if self.peek() not in (None, "+", "-", ")", "}") and self.peek() not in _FUNCTIONS:
                raise _Unsure
        else:  # a bare argument: an optional integer and one variable, then the end
            tok = self.take()
            coef = None
            if tok.isdigit() and len(tok) <= 30:
                coef, tok = ("int", Fraction(int(tok))), self.take()
            if tok not in VARIABLES or self.peek() is not None:
                raise _Unsure
            arg = ("atom", tok) if coef is None else ("*", coef, ("atom", tok))
        return ("fn", name, arg)


def _freeze(poly: dict) -> frozenset:
    return frozenset(poly.items())


# Function atoms: ``sin[...]``, ``cos[...]``, ``exp[...]`` named after their argument's
# polynomial; their arguments are kept here to evaluate them at points.
_FUNCTION_ARGS: dict[str, tuple[str, frozenset]] = {}
_MAX_FUNCTION_ARGS = 50_000


def _has_variable(poly: dict | frozenset) -> bool:
    monos = poly.keys() if isinstance(poly, dict) else (m for m, _ in poly)
    return any(atom in VARIABLES or "[" in atom for mono in monos for atom, _ in mono)


def _function_atom(name: str, arg: dict) -> str:
    if any(isinstance(c, float) for c in arg.values()):
        raise _Unsure
    key = f"{name}[{sorted(arg.items())!r}]"
    if key not in _FUNCTION_ARGS:
        if len(_FUNCTION_ARGS) >= _MAX_FUNCTION_ARGS:
            _FUNCTION_ARGS.clear()  # values read before fall back to Math-Verify
        _FUNCTION_ARGS[key] = (name, _freeze(arg))
    return key


def _lower(node: tuple) -> tuple:
    """Function applications and ``e`` to a power with a variable become atoms."""
    kind = node[0]
    if kind in ("int", "atom"):
        return node
    if kind == "fn" or (kind == "^" and node[1] == ("atom", "E")):
        name, arg = ("\\exp", _lower(node[2])) if kind == "^" else (node[1], _lower(node[2]))
        poly = safe_eval._poly(arg)
        if _has_variable(poly):
            return ("atom", _function_atom(name[1:], poly))
        if name == "\\exp":
            return ("^", ("atom", "E"), arg)
        raise _Unsure  # a function of a constant: Math-Verify rounds those
    lowered = (kind, *(_lower(child) for child in node[1:]))
    if kind == "^" and lowered[1][0] == "atom" and lowered[1][1].startswith("exp["):
        # (e^{u})^n is e^{nu} (sympy's simplification of the difference finds it)
        n = safe_eval._poly(lowered[2])
        known = _FUNCTION_ARGS.get(lowered[1][1])  # (forgotten after a clear: left as is)
        if set(n) == {()} and isinstance(n[()], Fraction) and n[()].denominator == 1 and known:
            return ("atom", _function_atom("exp", {m: c * n[()] for m, c in known[1]}))
    return lowered


def _node_value(node: tuple, point: dict[str, float]) -> float:
    """The value of a parsed expression at ``point`` (raises ValueError outside the reals,
    ZeroDivisionError, OverflowError)."""
    kind = node[0]
    if kind == "int":
        return float(node[1])
    if kind == "atom":
        name = node[1]
        return point[name] if name in point else math.pi if name == "pi" else math.e
    if kind == "fn":
        return float(_FUNCTIONS[node[1]](_node_value(node[2], point)))
    if kind in ("neg", "sqrt"):
        inner = _node_value(node[1], point)
        return -inner if kind == "neg" else math.sqrt(inner)
    a, b = _node_value(node[1], point), _node_value(node[2], point)
    if kind == "^":
        value = a**b
        if isinstance(value, complex):
            raise ValueError("a negative base with a fractional exponent")
        return float(value)
    return a + b if kind == "+" else a - b if kind == "-" else a * b if kind == "*" else a / b


def _mentions_variable(node: tuple) -> bool:
    if node[0] == "atom":
        return node[1] in VARIABLES
    return any(isinstance(child, tuple) and _mentions_variable(child) for child in node[1:])


def _expression(s: str) -> Num | Expr | Formula | None:
    try:
        p = _Parser(_tokens(s))
        node = p.expr()
        if p.peek() is not None:
            return None
    except _Unsure:
        return None
    try:
        poly = safe_eval._poly(_lower(node))
    except safe_eval._NotPolynomial:
        return Formula(node) if _mentions_variable(node) else None
    except (_Unsure, safe_eval.Refused, ZeroDivisionError, OverflowError):
        return None
    if any(isinstance(c, float) for c in poly.values()):
        return None
    if all(m == () for m in poly):
        return Num(poly.get((), Fraction(0)), False)
    letter = s if len(s) == 1 and s in VARIABLES else None
    return Expr(_freeze(poly), letter)


def _endpoint(s: str) -> Num | Expr | Infinity | None:
    s = s.strip()
    if s in ("\\infty", "+\\infty"):
        return Infinity(1)
    if s == "-\\infty":
        return Infinity(-1)
    number = _number(s)
    if number is not None:
        return number
    value = _expression(s)
    if isinstance(value, Formula) or (isinstance(value, Expr) and _numeric(value.poly) is None):
        return None  # an endpoint with variables
    return value


def _position(v: Num | Expr | Infinity) -> float:
    if isinstance(v, Infinity):
        return math.inf * v.sign
    if isinstance(v, Num):
        return float(v.value)
    return _numeric(v.poly) or 0.0


def _interval(s: str) -> Interval | None:
    """``(a, b)``, ``[a, b]``, ``(a, b]``, ``[a, b)`` (also with ``\\left``/``\\right``),
    ``a < b`` by a clear margin; an infinite end is open whatever its bracket (as in sympy)."""
    for outer in (("\\left(", "\\left["), ("\\right)", "\\right]")):
        for mark in outer:
            s = s.replace(mark, mark[-1])
    if len(s) < 5 or s[0] not in "([" or s[-1] not in ")]" or s.count(",") != 1:
        return None
    inner = s[1:-1]
    if any(ch in inner for ch in "()[]"):
        return None
    lo, hi = (_endpoint(part) for part in inner.split(","))
    if lo is None or hi is None:
        return None
    a, b = _position(lo), _position(hi)
    if not (a < b) or (math.isinf(a) and math.isinf(b)):
        return None
    if not math.isinf(a) and not math.isinf(b) and b - a <= 1e-6 * max(1.0, abs(a), abs(b)):
        return None
    left = "(" if isinstance(lo, Infinity) else s[0]
    right = ")" if isinstance(hi, Infinity) else s[-1]
    return Interval(left, lo, hi, right)


def _tuple(s: str) -> NumTuple | None:
    """``(a, b, ...)`` of numbers that Math-Verify reads as a tuple: three or more, or two
    with ``a >= b`` (``(a, b)`` with ``a < b`` is an open interval there)."""
    s = s.replace("\\left(", "(").replace("\\right)", ")")
    if len(s) < 5 or s[0] != "(" or s[-1] != ")" or not 1 <= s.count(",") <= 19:
        return None
    items = [_number(part.strip()) for part in s[1:-1].split(",")]
    if any(x is None for x in items):
        return None
    nums = tuple(x for x in items if x is not None)
    if len(nums) == 2:
        a, b = nums[0].value, nums[1].value
        exact = not (nums[0].inexact or nums[1].inexact)
        if not ((a == b and exact) or a - b > max(Fraction(1), abs(a), abs(b)) / 1_000_000):
            return None
    return NumTuple(nums)


_MATRIX_ENVS = ("pmatrix", "bmatrix")


def _matrix(s: str) -> Matrix | None:
    """``\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}`` (or ``bmatrix``) of numbers."""
    for env in _MATRIX_ENVS:
        begin, end = f"\\begin{{{env}}}", f"\\end{{{env}}}"
        if s.startswith(begin) and s.endswith(end):
            break
    else:
        return None
    body = s[len(begin) : -len(end)].strip()
    if body.endswith("\\\\"):
        body = body[:-2]
    rows = []
    for row in body.split("\\\\"):
        cells = [_number(cell.strip()) for cell in row.split("&")]
        if any(c is None for c in cells):
            return None
        rows.append(tuple(c for c in cells if c is not None))
    if len({len(r) for r in rows}) != 1 or len(rows) * len(rows[0]) < 2:
        return None
    return Matrix(tuple(rows))


def _math_value(s: str) -> Value | None:
    num = _number(s)
    if num is not None:
        return num
    interval = _interval(s)
    if interval is not None:
        return interval
    if s.startswith(("(", "\\left(")):
        pair = _tuple(s)
        if pair is not None:
            return pair
    if s.startswith("\\begin{"):
        return _matrix(s)
    m = _SET.fullmatch(s)
    if m is not None:
        items = [_number(x.strip()) for x in m.group(1).split(",")]
        if all(x is not None and not x.inexact for x in items):
            return NumSet(frozenset(x.value for x in items if x is not None))
        return None
    if s.count("=") == 1:
        lhs, rhs = (part.strip() for part in s.split("="))
        if len(lhs) == 1 and lhs in VARIABLES and lhs not in rhs:
            value = _math_value(rhs)
            if isinstance(value, Expr) and _has_function(value.poly):
                return None
            if isinstance(value, (Num, Expr)):
                return Assignment(lhs, value)
        return None
    return _expression(s)


def read(text: str) -> Value | None:
    """The value Math-Verify would parse from ``text``, or None outside the subset.

    >>> read("$$-\\\\dfrac{3}{2}$$"), read("A") is EMPTY
    (Num(value=Fraction(-3, 2), inexact=False), True)
    >>> read("$\\\\sqrt{12}$") == read("$2\\\\sqrt{3}$"), read("$x = 2$").variable
    (True, 'x')
    >>> read("the answer is 7") is None
    True
    """
    if not any(ch.isdecimal() or ch in "$\\[" for ch in text):
        return EMPTY  # no digit and no LaTeX: Math-Verify's extraction finds nothing
    if len(text) > MAX_CHARS:
        return None
    s, math_mode = _unwrap(text)
    if not math_mode:
        num = _number(s)
        if num is not None:
            if "\\dfrac" in s or "\\tfrac" in s:
                return EMPTY  # Math-Verify does not extract a bare \dfrac / \tfrac
            return num
        if _LETTER.fullmatch(s):
            return EMPTY
        m = _PERCENT.fullmatch(s)
        if m is not None:
            return _number(m.group(1))
        m = _NUMBER_WORD.fullmatch(s) or _MATH_NUMBER_WORD.fullmatch(s)
        word = "" if m is None else m.group(2)
        if m is not None and not word.startswith(_PERCENT_WORDS) and "answer" not in word:
            return _number(m.group(1))
        m = _PLAIN_PERCENT.fullmatch(s)
        if m is not None:
            return Percent(int(m.group(1)))
        return None
    m = _MATH_PERCENT.fullmatch(s)
    if m is not None:
        return Percent(int(m.group(1)))
    m = _UNIT.fullmatch(s)
    if m is not None and not any(cmd in m.group(1) for cmd in ("\\text", "\\mbox", "\\mathrm")):
        if not any(w in m.group(2) for w in _PERCENT_WORDS):
            value = _math_value(m.group(1).strip())
            return value if isinstance(value, Num) else None
    return _math_value(s)


# ---- comparison --------------------------------------------------------------------------


def _same_number(a: Num, b: Num) -> bool | None:
    if a.value == b.value:
        return True
    if not (a.inexact or b.inexact):
        return False
    scale = max(Fraction(1), abs(a.value), abs(b.value))
    if abs(a.value - b.value) > scale / 10_000:
        return False
    return None


def _numeric(poly: frozenset) -> float | None:
    """The value of a constant polynomial (no variables) as a float, else None."""
    total = 0.0
    for mono, coef in poly:
        term = float(coef)
        for atom, e in mono:
            if atom == "pi":
                term *= math.pi ** float(e)
            elif atom == "E":
                term *= math.e ** float(e)
            elif atom.startswith("√"):
                term *= math.sqrt(int(atom[1:])) ** float(e)
            else:
                return None
        total += term
    return total


def _has_function(poly: frozenset) -> bool:
    return any("[" in atom for mono, _ in poly for atom, _ in mono)


#: Points at which expressions with functions are compared (no special values).
_POINTS = (
    {"x": 0.3137, "y": 0.5477, "z": -0.7129, "n": 0.4271, "k": 0.6389},
    {"x": -0.8147, "y": 0.9058, "z": 0.1270, "n": -0.9134, "k": 0.6324},
)


def _power(base: float, e: Fraction) -> float:
    value = base ** float(e)
    if isinstance(value, complex):
        raise ValueError("a negative base with a fractional exponent")
    return value


def _at(poly: frozenset, point: dict[str, float]) -> float:
    """The value of a polynomial with function atoms at ``point`` (raises KeyError for a
    forgotten function atom, OverflowError, ValueError, ZeroDivisionError)."""
    total = 0.0
    for mono, coef in poly:
        term = float(coef)
        for atom, e in mono:
            if atom in point:
                base = point[atom]
            elif atom == "pi":
                base = math.pi
            elif atom == "E":
                base = math.e
            elif atom.startswith("√"):
                base = math.sqrt(int(atom[1:]))
            else:
                name, arg = _FUNCTION_ARGS[atom]
                base = _FUNCTIONS["\\" + name](_at(arg, point))
            term *= _power(base, e)
        total += term
    return total


def _apart(pg: frozenset, pa: frozenset) -> bool | None:
    """False when two expressions with functions differ clearly at one of the points (so
    no simplification can make them equal), else None."""
    for point in _POINTS:
        try:
            vg, va = _at(pg, point), _at(pa, point)
        except (KeyError, OverflowError, ValueError, ZeroDivisionError):
            return None
        if not (math.isfinite(vg) and math.isfinite(va)):
            return None
        if abs(vg - va) > 1e-6 * max(1.0, abs(vg), abs(va)):
            return False
    return None


def _ratio(v: Num | Expr | Formula) -> tuple[dict, dict] | None:
    """Numerator and denominator polynomials of a value, when it is one quotient."""
    if isinstance(v, Num):
        return safe_eval._const(v.value), {(): Fraction(1)}
    if isinstance(v, Expr):
        return dict(v.poly), {(): Fraction(1)}
    if v.node[0] != "/":
        return None
    try:
        num, den = safe_eval._poly(_lower(v.node[1])), safe_eval._poly(_lower(v.node[2]))
    except (_Unsure, safe_eval.Refused, safe_eval._NotPolynomial, ZeroDivisionError, OverflowError):
        return None
    if not den or any(isinstance(c, float) for c in (*num.values(), *den.values())):
        return None
    return num, den


def _same_ratio(g: Num | Expr | Formula, a: Num | Expr | Formula) -> bool:
    """``p/q`` and ``r/s`` with ``p s = r q`` exactly: their difference simplifies to 0."""
    rg, ra = _ratio(g), _ratio(a)
    if rg is None or ra is None:
        return False
    try:
        return safe_eval._mul(rg[0], ra[1]) == safe_eval._mul(ra[0], rg[1])
    except safe_eval.Refused:
        return False


def _formula_apart(g: Num | Expr | Formula, a: Num | Expr | Formula) -> bool | None:
    """A formula against anything: False when both sides are real and clearly apart at one
    of the points (as functions they differ: no simplification makes them equal), else
    None; a single letter is left to Math-Verify (its symbol rule)."""
    if any(isinstance(v, Expr) and v.letter for v in (g, a)):
        return None
    if _same_ratio(g, a):
        return True

    def at(v: Num | Expr | Formula, point: dict[str, float]) -> float:
        if isinstance(v, Formula):
            return _node_value(v.node, point)
        return float(v.value) if isinstance(v, Num) else _at(v.poly, point)

    for point in _POINTS:
        try:
            vg, va = at(g, point), at(a, point)
        except KeyError:
            return None
        except (OverflowError, ValueError, ZeroDivisionError):
            continue  # outside the domain there: try the next point
        if not (math.isfinite(vg) and math.isfinite(va)):
            continue
        if abs(vg - va) > 1e-6 * max(1.0, abs(vg), abs(va)):
            return False
    return None


def _is_constant(v: Num | Expr) -> bool:
    return isinstance(v, Num) or _numeric(v.poly) is not None


def _poly_of(v: Num | Expr) -> frozenset:
    if isinstance(v, Num):
        return frozenset() if v.value == 0 else frozenset({((), v.value)})
    return v.poly


def _same_expression(g: Num | Expr, a: Num | Expr) -> bool | None:
    if isinstance(g, Num) and isinstance(a, Num):
        return _same_number(g, a)
    for v in (g, a):
        if isinstance(v, Expr) and len(v.poly) == 1:
            ((mono, coef),) = v.poly
            if coef == 1 and len(mono) == 1 and mono[0][1] == 1 and mono[0][0] in VARIABLES:
                # Math-Verify's symbol rule compares names, not values
                if isinstance(g, Expr) and isinstance(a, Expr) and g.letter and a.letter:
                    return g.letter == a.letter
                return None
    if (isinstance(g, Num) and g.inexact) or (isinstance(a, Num) and a.inexact):
        # a float against an exact expression: Math-Verify rounds both to 6 places (an
        # expression with variables cannot be rounded: no match), then simplifies
        expr = a if isinstance(g, Num) else g
        num = g if isinstance(g, Num) else a
        x = _numeric(_poly_of(expr))
        if x is None:
            return False
        y = float(num.value)  # type: ignore[union-attr]
        return False if abs(x - y) > 1e-4 * max(1.0, abs(x), abs(y)) else None
    pg, pa = _poly_of(g), _poly_of(a)
    if pg == pa:
        return True
    if _has_function(pg) or _has_function(pa):
        return _apart(pg, pa)
    vg, va = _numeric(pg), _numeric(pa)
    if vg is not None and va is not None:
        if abs(vg - va) <= 1e-9 * max(1.0, abs(vg), abs(va)):
            return None  # too close to call by floats
    return False


def _same_end(g: Num | Expr | Infinity, a: Num | Expr | Infinity) -> bool | None:
    if isinstance(g, Infinity) or isinstance(a, Infinity):
        return g == a
    return _same_expression(g, a)


def compare(gold: Value, answer: Value) -> bool | None:
    """Math-Verify's verdict for two values read by :func:`read`, or None when unsure.

    >>> compare(read("-1.5"), read("$$-\\\\dfrac{3}{2}$$")), compare(read("7"), read("8"))
    (True, False)
    >>> compare(read("$x^2+2x+1$"), read("$(x+1)^2$")), compare(read("3"), read("3.0000001"))
    (True, None)
    >>> compare(read("$x=5$"), read("5")), compare(read("$(1, 2)$"), read("$[1, 2]$"))
    (True, False)
    """
    if gold is EMPTY or answer is EMPTY:
        return False
    if isinstance(gold, Assignment) and isinstance(answer, Assignment):
        if gold.variable == answer.variable:
            # both sides' difference, the flipped one, then the solutions: all agree with
            # the right-hand sides' comparison
            return _same_expression(gold.value, answer.value)
        if _is_constant(gold.value) and _is_constant(answer.value):
            return False  # x = 5 is not y = 5
        return None
    if isinstance(gold, Assignment):
        gold = gold.value
    if isinstance(answer, Assignment):
        answer = answer.value
    if isinstance(gold, (Num, Expr)) and isinstance(answer, (Num, Expr)):
        return _same_expression(gold, answer)
    if isinstance(gold, (Num, Expr, Formula)) and isinstance(answer, (Num, Expr, Formula)):
        return _formula_apart(gold, answer)
    if isinstance(gold, Interval) and isinstance(answer, Interval):
        low = _same_end(gold.low, answer.low)
        high = _same_end(gold.high, answer.high)
        if low is False or high is False:
            return False
        if (gold.left, gold.right) != (answer.left, answer.right):
            return False if (low and high) else None
        return True if (low and high) else None
    if isinstance(gold, NumSet) and isinstance(answer, NumSet):
        return gold.values == answer.values
    if isinstance(gold, Matrix) or isinstance(answer, Matrix):
        return _same_matrix(gold, answer)
    if isinstance(gold, NumTuple) or isinstance(answer, NumTuple):
        return _same_tuple(gold, answer)
    if isinstance(gold, Percent) or isinstance(answer, Percent):
        return _same_percent(gold, answer)
    return None


def _same_matrix(g: Value, a: Value) -> bool | None:
    """Matrices: the same shape and elements (numbers compared as numbers are); never a
    tuple or an interval."""
    if isinstance(g, Matrix) and isinstance(a, Matrix):
        if [len(r) for r in g.rows] != [len(r) for r in a.rows]:
            return False
        return _all_same([_same_number(x, y) for rg, ra in zip(g.rows, a.rows, strict=True)
                          for x, y in zip(rg, ra, strict=True)])
    other = a if isinstance(g, Matrix) else g
    return False if isinstance(other, (NumTuple, Interval)) else None


def _all_same(verdicts: list[bool | None]) -> bool | None:
    if False in verdicts:
        return False
    return True if all(v is True for v in verdicts) else None


def _same_tuple(g: Value, a: Value) -> bool | None:
    """Tuples element by element; against an open interval ``(a, b)``, its two ends in
    order; never a closed or half-open interval."""
    if isinstance(g, NumTuple) and isinstance(a, NumTuple):
        if len(g.items) != len(a.items):
            return False
        return _all_same([_same_number(x, y) for x, y in zip(g.items, a.items, strict=True)])
    pair, other = (g, a) if isinstance(g, NumTuple) else (a, g)
    if not isinstance(pair, NumTuple) or not isinstance(other, Interval):
        return None
    if (other.left, other.right) != ("(", ")") or len(pair.items) != 2:
        return False
    ends = (other.low, other.high)
    return _all_same([_same_end(x, y) for x, y in zip(pair.items, ends, strict=True)])


def _same_percent(g: Value, a: Value) -> bool | None:
    """``p\\%`` against a number: its digits (Math-Verify's "9% is 9" rule) or its value
    (``p/100``, by simplification) match; against a float, the value within 6 places."""
    if isinstance(g, Percent) and isinstance(a, Percent):
        return g.value == a.value
    pct, other = (g, a) if isinstance(g, Percent) else (a, g)
    if not isinstance(pct, Percent) or not isinstance(other, Num):
        return None
    if not other.inexact:
        return other.value in (pct.value, Fraction(pct.value, 100))
    return _same_number(Num(Fraction(pct.value, 100), False), other)


def verdict(gold: str, answer: str) -> bool | None:
    """Math-Verify's verdict for two texts, or None when the native path is unsure.

    >>> verdict("$2\\\\sqrt{3}$", "$\\\\sqrt{12}$"), verdict("$x=5$", "$x=6$"), verdict("5", "five")
    (True, False, False)
    """
    g = read(gold)
    if g is None:
        return None
    a = read(answer)
    return None if a is None else compare(g, a)
