"""A safe evaluator for the small arithmetic language of the PRM800K grader's last step.

The published grader hands ``"(gold)-(answer)"`` to sympy's ``eval``-based parser and asks
whether the simplified difference is 0. This module answers the same question without
``eval`` and with bounded work: a hand-written tokenizer, a recursive-descent parser with
a depth limit, and an exact polynomial model of the value.

Grammar (the text is already normalised: lower case, no spaces; ``^`` means ``**``)::

    expr    := term (('+' | '-') term)*
    term    := unary (('*' | '/' | implicit) unary)*
    unary   := ('+' | '-') unary | power
    power   := postfix (('**' | '^') unary)?
    postfix := atom '!'*
    atom    := number | name | 'sqrt' '(' expr ')' | '(' expr ')'

Implicit multiplication is inserted where sympy's implicit-multiplication transformation
inserts it (``2x``, ``x(x+1)``, ``(a)(b)``, ``2sqrt(2)``). A name that is not ``pi`` or
``sqrt`` is split into single-letter variables and digit runs (``xy`` is ``x*y``, ``sqrt2``
is ``s*q*r*t*2``, as in sympy); names that sympy knows as functions or constants (``ln``,
``oo``, ``re`` ...) are refused.

Values follow sympy's number semantics: integers and fractions are exact; a literal with a
decimal point or exponent is a binary float (sympy ``Float`` at 53 bits; more than 15
significant digits is refused); ``pi``, square roots of non-squares and variables stay
symbolic. A value is a polynomial ``{monomial: coefficient}`` over those atoms, so the
terms that sympy collects cancel here too (``0.5*pi - pi/2`` is 0, ``sqrt(2) - 1.414``
is not). Division by a sum (a rational function) is decided numerically at random points
(only when no float literal is involved). Everything else is refused with
:class:`Refused`, which the grader reads as "not equal".
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

__all__ = ["MAX_CHARS", "Refused", "equal", "parse"]

#: Longer expressions are refused outright.
MAX_CHARS = 400
#: Maximum nesting of parentheses and unary operators.
MAX_DEPTH = 50
#: Maximum number of terms of a polynomial value.
MAX_TERMS = 256
#: Maximum size (in bits) of an exact number produced by a power.
MAX_BITS = 20_000
#: Largest integer whose factorial is computed.
MAX_FACTORIAL = 170
#: Largest radicand that is factorised (trial division).
MAX_RADICAND = 10**10

# Names of sympy's namespace that are at most two distinct letters (so they pass the
# grader's letter screen) and that are functions or constants there: refused.
_SYMPY_NAMES = frozenset(
    "csc eye ff fft fu gff im jn li ln nan ntt oo re rf yn zoo".split()
)

Number = Fraction | float
Mono = tuple  # sorted tuple of (atom, exponent)
Poly = dict  # Mono -> Number (never zero)
Node = tuple


class Refused(ValueError):
    """The expression is outside what the evaluator accepts (read as "not equal")."""


class _NotPolynomial(Exception):
    """The value is not a polynomial over the atoms (e.g. division by a sum)."""


# ---- tokenizer ---------------------------------------------------------------------------


def _tokens(text: str) -> list[tuple[str, str]]:
    """``(kind, text)`` pairs: ``num``, ``name`` or ``op``; raises :class:`Refused`."""
    if len(text) > MAX_CHARS:
        raise Refused(f"longer than {MAX_CHARS} characters")
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\n\r\f":  # separators, as for Python's tokenizer inside parentheses
            i += 1
            continue
        if ch.isascii() and (ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit())):
            j = i
            while j < n and text[j].isascii() and text[j].isdigit():
                j += 1
            if j < n and text[j] == ".":
                j += 1
                while j < n and text[j].isascii() and text[j].isdigit():
                    j += 1
            if j < n and text[j] == "e":  # exponent only when digits follow
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k].isascii() and text[k].isdigit():
                    while k < n and text[k].isascii() and text[k].isdigit():
                        k += 1
                    j = k
            if j < n and (text[j] in "j_" or (text[j] == "." and out and out[-1][0] == "num")):
                raise Refused(f"unsupported number near {text[i:j + 1]!r}")
            out.append(("num", text[i:j]))
            i = j
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            j = i
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
                j += 1
            out.append(("name", text[i:j]))
            i = j
        elif text.startswith("**", i):
            out.append(("op", "^"))
            i += 2
        elif ch in "+-*/^()!":
            if ch == "/" and text.startswith("//", i):
                raise Refused("floor division")
            out.append(("op", ch))
            i += 1
        else:
            raise Refused(f"unexpected character {ch!r}")
    return out


# ---- parser ------------------------------------------------------------------------------


def _starts_operand(tok: tuple[str, str] | None) -> bool:
    return tok is not None and (tok[0] in ("num", "name") or tok == ("op", "("))


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.t = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise Refused("unexpected end")
        self.i += 1
        return tok

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Refused(f"nested deeper than {MAX_DEPTH}")

    def expr(self) -> Node:
        self._enter()
        node = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            node = (op, node, self.term())
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.unary()
        while True:
            tok = self.peek()
            if tok in (("op", "*"), ("op", "/")):
                self.take()
                node = (tok[1], node, self.unary())
            elif _starts_operand(tok):
                node = ("*", node, self.unary())  # implicit multiplication
            else:
                return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok in (("op", "-"), ("op", "+")):
            self.take()
            self._enter()
            inner = self.unary()
            self.depth -= 1
            return ("neg", inner) if tok[1] == "-" else inner
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.peek() == ("op", "^"):
            self.take()
            self._enter()
            exponent = self.unary()
            self.depth -= 1
            return ("^", base, exponent)
        return base

    def postfix(self) -> Node:
        node = self.atom()
        while self.peek() == ("op", "!"):
            self.take()
            node = ("!", node)
        return node

    def atom(self) -> Node:
        kind, text = self.take()
        if (kind, text) == ("op", "("):
            node = self.expr()
            if self.take() != ("op", ")"):
                raise Refused("unbalanced parentheses")
            return node
        if kind == "num":
            return _number(text)
        if kind == "name":
            if text == "pi":
                return ("atom", "pi")
            if text == "sqrt":
                if self.peek() != ("op", "("):
                    raise Refused("sqrt without parentheses")
                return ("sqrt", self.atom())
            if text in _SYMPY_NAMES or "_" in text:
                raise Refused(f"unsupported name {text!r}")
            return _split_name(text)
        raise Refused(f"unexpected {text!r}")


def _number(text: str) -> Node:
    if "." in text or "e" in text:
        digits = text.split("e")[0].replace(".", "").lstrip("0")
        if len(digits) > 15:
            raise Refused("float literal with more than 15 significant digits")
        value = float(text)
        if not math.isfinite(value):
            raise Refused("float literal out of range")
        return ("float", value)
    if len(text) > 200:
        raise Refused("integer literal too long")
    return ("int", Fraction(int(text)))


def _split_name(text: str) -> Node:
    """``xy2`` -> ``x*y*2`` (sympy's symbol splitting)."""
    parts: list[Node] = []
    i = 0
    while i < len(text):
        if text[i].isdigit():
            j = i
            while j < len(text) and text[j].isdigit():
                j += 1
            parts.append(("int", Fraction(int(text[i:j]))))
            i = j
        else:
            parts.append(("atom", text[i]))
            i += 1
    node = parts[0]
    for p in parts[1:]:
        node = ("*", node, p)
    return node


def parse(text: str) -> Node:
    """Parse an expression into a small tree (raises :class:`Refused`).

    >>> parse("2x")
    ('*', ('int', Fraction(2, 1)), ('atom', 'x'))
    >>> parse("__import__(x)")
    Traceback (most recent call last):
    ...
    unireward._mathsafe.safe_eval.Refused: unsupported name '__import__'
    """
    p = _Parser(_tokens(text))
    node = p.expr()
    if p.peek() is not None:
        raise Refused(f"unexpected {p.peek()[1]!r}")  # type: ignore[index]
    return node


# ---- exact polynomial model --------------------------------------------------------------


def _is_zero(c: Number) -> bool:
    return c == 0


def _cadd(a: Number, b: Number) -> Number:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a + b
    return _to_float(a) + _to_float(b)


def _cmul(a: Number, b: Number) -> Number:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a * b
    return _to_float(a) * _to_float(b)


def _to_float(a: Number) -> float:
    try:
        v = float(a)
    except OverflowError as exc:
        raise Refused("number out of float range") from exc
    if not math.isfinite(v):
        raise Refused("number out of float range")
    return v


def _const(c: Number) -> Poly:
    return {} if _is_zero(c) else {(): c}


def _add(p: Poly, q: Poly, sign: int = 1) -> Poly:
    out = dict(p)
    for m, c in q.items():
        c = c if sign > 0 else -c
        v = _cadd(out[m], c) if m in out else c
        if _is_zero(v):
            out.pop(m, None)
        else:
            out[m] = v
    return out


def _mono_mul(a: Mono, b: Mono) -> tuple[Fraction, Mono]:
    """Product of two monomials, square roots of primes reduced (``√2·√2 = 2``)."""
    exps: dict[str, Fraction] = dict(a)
    for atom, e in b:
        exps[atom] = exps.get(atom, Fraction(0)) + e
    factor = Fraction(1)
    out = []
    for atom, e in sorted(exps.items()):
        if atom.startswith("√"):
            q, r = divmod(int(e), 2)
            factor *= Fraction(int(atom[1:])) ** q
            e = Fraction(r)
        if e != 0:
            out.append((atom, e))
    return factor, tuple(out)


def _mul(p: Poly, q: Poly) -> Poly:
    if len(p) * len(q) > MAX_TERMS * 4:
        raise Refused("too many terms")
    out: Poly = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            f, m = _mono_mul(m1, m2)
            c = _cmul(_cmul(c1, c2), f) if f != 1 else _cmul(c1, c2)
            v = _cadd(out[m], c) if m in out else c
            if _is_zero(v):
                out.pop(m, None)
            else:
                out[m] = v
    if len(out) > MAX_TERMS:
        raise Refused("too many terms")
    return out


def _inverse(q: Poly) -> Poly:
    if not q:
        raise Refused("division by zero")
    if len(q) != 1:
        raise _NotPolynomial
    ((m, c),) = q.items()
    inv_c: Number = 1 / c if isinstance(c, Fraction) else 1.0 / c
    f, inv_m = _mono_mul((), tuple((atom, -e) for atom, e in m))
    return {inv_m: _cmul(inv_c, f) if f != 1 else inv_c}


def _factor_square(n: int) -> tuple[int, int]:
    """``n = s**2 * m`` with ``m`` square-free: returns ``(s, m)``."""
    if n > MAX_RADICAND:
        raise Refused("radicand too large")
    s, m, d = 1, 1, 2
    while d * d <= n:
        while n % (d * d) == 0:
            n //= d * d
            s *= d
        if n % d == 0:
            n //= d
            m *= d
        d += 1
    return s, m * n


def _prime_factors(m: int) -> list[int]:
    out, d = [], 2
    while d * d <= m:
        if m % d == 0:
            out.append(d)
            m //= d
        else:
            d += 1
    if m > 1:
        out.append(m)
    return out


def _sqrt_rational(c: Fraction) -> Poly:
    """``sqrt(c)`` for a rational ``c >= 0`` as a rational times square roots of primes."""
    if c == 0:
        return {}
    s, m = _factor_square(c.numerator * c.denominator)
    coef = Fraction(s, c.denominator)
    mono = tuple((f"√{p}", Fraction(1)) for p in sorted(_prime_factors(m), key=str))
    return {tuple(sorted(mono)): coef}


def _pow(base: Poly, exponent: Poly) -> Poly:
    if any(m != () for m in exponent):
        raise _NotPolynomial  # symbolic exponent
    e = exponent.get((), Fraction(0))
    if isinstance(e, float):
        return _float_pow(base, e)
    if e.denominator == 1:
        return _integer_pow(base, int(e))
    return _fractional_pow(base, e)


def _float_pow(base: Poly, e: float) -> Poly:
    """``base ** e`` for a float exponent: only a number or zero as the base."""
    if len(base) == 1 and () in base:
        b = _to_float(base[()])
        if b < 0:
            raise Refused("negative base with a float exponent")
        try:
            return _const(b**e)
        except OverflowError as exc:
            raise Refused("power out of range") from exc
    if not base:
        return {} if e > 0 else _raise(Refused("zero to a non-positive power"))
    raise Refused("float exponent on a symbolic base")


def _integer_pow(base: Poly, n: int) -> Poly:
    """``base ** n`` by repeated squaring, within :data:`MAX_BITS` and 64 for sums."""
    if n == 0:
        return {(): Fraction(1)}
    if n < 0:
        base = _inverse(base)
        n = -n
    if len(base) == 1 and () in base and isinstance(base[()], float) and n <= 64:
        # sympy raises a Float to an integer power exactly, then rounds once
        return _const(_to_float(Fraction(base[()]) ** n))
    if len(base) == 1 and () in base and isinstance(base[()], Fraction):
        c = base[()]
        bits = max(c.numerator.bit_length(), c.denominator.bit_length())
        if bits * n > MAX_BITS:
            raise Refused("power too large")
    elif n > 64:
        raise Refused("exponent too large")
    out: Poly = {(): Fraction(1)}
    sq, k = base, n
    while k:
        if k & 1:
            out = _mul(out, sq)
        k >>= 1
        if k:
            sq = _mul(sq, sq)
    return out


def _fractional_pow(base: Poly, e: Fraction) -> Poly:
    """``base ** e`` for a non-integer rational ``e``: only a single term."""
    if not base:
        if e > 0:
            return {}
        raise Refused("zero to a negative power")
    if len(base) != 1:
        raise _NotPolynomial
    ((m, c),) = base.items()
    if isinstance(c, float):
        if c < 0:
            raise Refused("negative base with a fractional exponent")
        coef: Poly = _const(c ** float(e))
    else:
        if c < 0:
            raise Refused("negative base with a fractional exponent")
        if e.denominator != 2:
            raise _NotPolynomial
        coef = _integer_pow(_sqrt_rational(c), e.numerator)
    new_m = []
    for atom, k in m:
        if atom.startswith("√") or (k != 1 and atom != "pi"):
            raise _NotPolynomial
        new_m.append((atom, k * e))
    return _mul(coef, {tuple(new_m): Fraction(1)})


def _raise(exc: Exception) -> Poly:
    raise exc


def _poly(node: Node) -> Poly:
    kind = node[0]
    if kind == "int":
        return _const(node[1])
    if kind == "float":
        return _const(node[1])
    if kind == "atom":
        return {((node[1], Fraction(1)),): Fraction(1)}
    if kind == "neg":
        return _add({}, _poly(node[1]), -1)
    if kind == "sqrt":
        return _pow(_poly(node[1]), {(): Fraction(1, 2)})
    if kind == "!":
        v = _poly(node[1])
        if not v:
            return {(): Fraction(1)}
        c = v.get(())
        if len(v) != 1 or not isinstance(c, Fraction) or c.denominator != 1 or c < 0:
            raise Refused("factorial of something other than a natural number")
        if c > MAX_FACTORIAL:
            raise Refused("factorial too large")
        return {(): Fraction(math.factorial(int(c)))}
    a, b = _poly(node[1]), _poly(node[2])
    if kind == "+":
        return _add(a, b)
    if kind == "-":
        return _add(a, b, -1)
    if kind == "*":
        return _mul(a, b)
    if kind == "/":
        if len(b) == 1 and () in b and len(a) <= 1 and (not a or () in a):
            # number / number: sympy divides the two numbers directly
            x, y = (a.get((), Fraction(0)), b[()])
            if isinstance(x, Fraction) and isinstance(y, Fraction):
                return _const(x / y)
            if isinstance(x, Fraction):  # a rational over a Float: x * (1 / y) in sympy
                return _const(_cmul(x, 1.0 / y))
            return _const(_to_float(x) / _to_float(y))
        return _mul(a, _inverse(b))
    if kind == "^":
        return _pow(a, b)
    raise Refused(f"unknown node {kind}")


# ---- numeric fallback (rational functions) -----------------------------------------------


def _has_float(node: Node) -> bool:
    if node[0] == "float":
        return True
    return any(isinstance(child, tuple) and _has_float(child) for child in node[1:])


def _atoms(node: Node, out: set[str]) -> set[str]:
    if node[0] == "atom" and node[1] != "pi":
        out.add(node[1])
    for child in node[1:]:
        if isinstance(child, tuple):
            _atoms(child, out)
    return out


def _value(node: Node, env: dict[str, float]) -> float:
    kind = node[0]
    if kind in ("int", "float"):
        return _to_float(node[1])
    if kind == "atom":
        return math.pi if node[1] == "pi" else env[node[1]]
    if kind == "neg":
        return -_value(node[1], env)
    if kind == "sqrt":
        v = _value(node[1], env)
        if v < 0:
            raise Refused("square root of a negative number")
        return math.sqrt(v)
    if kind == "!":
        raise Refused("factorial in a rational function")
    a, b = _value(node[1], env), _value(node[2], env)
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
        if abs(b) > 64 or (a < 0 and b != int(b)):
            raise Refused("power out of range")
        try:
            return float(a**b)
        except (OverflowError, ZeroDivisionError) as exc:
            raise Refused("power out of range") from exc
    raise Refused(f"unknown node {kind}")


def _numerically_zero(node: Node) -> bool:
    if _has_float(node):
        raise Refused("float literal in a rational function")
    names = sorted(_atoms(node, set()))
    rng = random.Random(20240229)
    for _ in range(4):
        env = {n: rng.uniform(0.7, 2.9) for n in names}
        v = _value(node, env)
        if not math.isfinite(v) or abs(v) > 1e-9:
            return False
    return True


def equal(a: str, b: str) -> bool:
    """Whether ``a - b`` is 0 in sympy's sense, decided without ``eval``.

    Raises :class:`Refused` for anything outside the supported language.

    >>> equal("1/2", "0.5"), equal("2x", "x*2"), equal("c", "d"), equal("sqrt(8)", "2sqrt(2)")
    (True, True, False, True)
    >>> equal("0.1+0.2", "0.3"), equal("2^0.5", "sqrt(2)"), equal("0.5pi", "pi/2")
    (False, False, True)
    """
    node = parse(f"({a})-({b})")
    try:
        return not _poly(node)
    except _NotPolynomial:
        return _numerically_zero(node)
    except (ZeroDivisionError, OverflowError, ValueError) as exc:
        if isinstance(exc, Refused):
            raise
        raise Refused(str(exc)) from exc
