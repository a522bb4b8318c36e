"""A safe evaluator for small arithmetic expressions (no ``eval``, bounded work).

Grammar (after the grader's normalisation, spaces removed, lower-case)::

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '/' | implicit) factor)*
    factor := ('-' | '+') factor | power
    power  := atom (('^' | '**') factor)?
    atom   := number | name | name '(' expr ')' | '(' expr ')' | 'sqrt' atom

Numbers are exact fractions; ``sqrt``, ``pi`` and ``e`` make the value a float; other
single letters are variables. Exponents must be small integers. Anything else is refused
(:class:`Refused`). :func:`equal` decides ``a - b == 0`` exactly for rational expressions
and numerically (at random points for variables) otherwise.
"""

from __future__ import annotations

import math
import random
import re
from fractions import Fraction

__all__ = ["Refused", "equal", "parse"]

MAX_CHARS = 400
MAX_DEPTH = 40
MAX_EXPONENT = 64

_TOKEN = re.compile(r"\d+\.?\d*|\.\d+|[a-z]+|\*\*|[-+*/^()]")


class Refused(ValueError):
    """The expression is outside what the evaluator accepts."""


Node = tuple


def _tokens(text: str) -> list[str]:
    if len(text) > MAX_CHARS:
        raise Refused("too long")
    out: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() != pos:
            raise Refused(f"unexpected {text[pos:m.start()]!r}")
        out.append(m.group())
        pos = m.end()
    if pos != len(text):
        raise Refused(f"unexpected {text[pos:]!r}")
    return out


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.t = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise Refused("unexpected end")
        self.i += 1
        return tok

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Refused("too deep")

    def expr(self) -> Node:
        self._enter()
        node = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            node = (op, node, self.term())
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.factor()
        while True:
            tok = self.peek()
            if tok in ("*", "/"):
                self.take()
                node = (tok, node, self.factor())
            elif tok is not None and (tok == "(" or tok[0].isalnum() or tok[0] == "."):
                node = ("*", node, self.factor())  # implicit multiplication
            else:
                return node

    def factor(self) -> Node:
        tok = self.peek()
        if tok in ("-", "+"):
            self.take()
            self._enter()
            inner = self.factor()
            self.depth -= 1
            return ("neg", inner) if tok == "-" else inner
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.peek() in ("^", "**"):
            self.take()
            self._enter()
            exp = self.factor()
            self.depth -= 1
            return ("^", base, exp)
        return base

    def atom(self) -> Node:
        tok = self.take()
        if tok == "(":
            node = self.expr()
            if self.take() != ")":
                raise Refused("unbalanced parentheses")
            return node
        if tok[0].isdigit() or tok[0] == ".":
            return ("num", Fraction(tok))
        if tok.isalpha():
            if tok == "sqrt":
                return ("sqrt", self.atom())
            if tok in ("pi", "e"):
                return ("const", math.pi if tok == "pi" else math.e)
            if len(tok) == 1:
                return ("var", tok)
            # several letters: a product of single-letter variables, as implicit multiplication
            node: Node = ("var", tok[0])
            for ch in tok[1:]:
                node = ("*", node, ("var", ch))
            return node
        raise Refused(f"unexpected {tok!r}")


def parse(text: str) -> Node:
    """Parse an expression into a small tree (raises :class:`Refused`).

    >>> parse("2x")
    ('*', ('num', Fraction(2, 1)), ('var', 'x'))
    """
    p = _Parser(_tokens(text))
    node = p.expr()
    if p.peek() is not None:
        raise Refused(f"unexpected {p.peek()!r}")
    return node


def _value(node: Node, env: dict[str, float]) -> Fraction | float:
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "const":
        return node[1]
    if kind == "var":
        return env[node[1]]
    if kind == "neg":
        return -_value(node[1], env)
    if kind == "sqrt":
        v = _value(node[1], env)
        if v < 0:
            raise Refused("square root of a negative number")
        if isinstance(v, Fraction):
            n, d = math.isqrt(v.numerator), math.isqrt(v.denominator)
            if n * n == v.numerator and d * d == v.denominator:
                return Fraction(n, d)
        return math.sqrt(v)
    a = _value(node[1], env)
    b = _value(node[2], env)
    if kind == "+":
        return a + b
    if kind == "-":
        return a - b
    if kind == "*":
        return a * b
    if kind == "/":
        if b == 0:
            raise Refused("division by zero")
        return a / b
    if kind == "^":
        if isinstance(b, Fraction) and b.denominator == 1 and abs(b.numerator) <= MAX_EXPONENT:
            if a == 0 and b < 0:
                raise Refused("division by zero")
            return a ** int(b)
        fa, fb = float(a), float(b)
        if abs(fb) > MAX_EXPONENT or fa < 0:
            raise Refused("exponent out of range")
        return fa**fb
    raise Refused(f"unknown node {kind}")


def _vars(node: Node, out: set[str]) -> set[str]:
    if node[0] == "var":
        out.add(node[1])
    for child in node[1:]:
        if isinstance(child, tuple):
            _vars(child, out)
    return out


def equal(a: str, b: str) -> bool:
    """Whether ``a - b`` is zero: exactly for rational values, numerically otherwise.

    >>> equal("1/2", "0.5"), equal("2x", "x*2"), equal("c", "d"), equal("sqrt(4)", "2")
    (True, True, False, True)
    """
    ta, tb = parse(a), parse(b)
    names = sorted(_vars(ta, set()) | _vars(tb, set()))
    if not names:
        va, vb = _value(ta, {}), _value(tb, {})
        if isinstance(va, Fraction) and isinstance(vb, Fraction):
            return va == vb
        fa, fb = float(va), float(vb)
        return math.isclose(fa, fb, rel_tol=1e-12, abs_tol=1e-12)
    rng = random.Random(12345)
    for _ in range(3):
        env = {n: rng.uniform(0.5, 2.5) for n in names}
        fa, fb = float(_value(ta, env)), float(_value(tb, env))
        if not (math.isfinite(fa) and math.isfinite(fb)):
            return False
        if not math.isclose(fa, fb, rel_tol=1e-9, abs_tol=1e-9):
            return False
    return True
