"""The native path and the memo give Math-Verify's verdicts: on the broad table (numbers,
fractions, percents, units, intervals, sets, tuples, equations, matrices, expressions,
answers in words), on generated tables of exact expressions, intervals, assignments and
floats, and on GRPO-shaped batches where answers repeat."""

from __future__ import annotations

import json
import logging
import math
import random
from fractions import Fraction
from pathlib import Path

import pytest

from unireward._mathsafe.native import verdict
from unireward.tasks.base import ScoreOptions
from unireward.tasks.math import MathScorer

OPTIONS = ScoreOptions(math_timeout=30.0)
BROAD = Path(__file__).resolve().parents[1] / "mathsafe" / "data" / "broad_table.json"


def _math_verify(gold: str, answer: str) -> bool:
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    return bool(
        verify(
            parse(gold, parsing_timeout=None),
            parse(answer, parsing_timeout=None),
            timeout_seconds=None,
        )
    )


def _disagreements(pairs: list[tuple[str, str]], got: list[bool]) -> list[tuple[str, str, bool]]:
    return [(g, a, v) for (g, a), v in zip(pairs, got, strict=True) if v != _math_verify(g, a)]


@pytest.mark.integration
def test_broad_table_agrees_with_math_verify() -> None:
    rows = json.loads(BROAD.read_text())
    assert {r["category"] for r in rows} >= {
        "numbers",
        "fractions",
        "percents",
        "units",
        "intervals",
        "sets",
        "tuples",
        "equations",
        "matrices",
        "expressions",
        "words",
    }
    pairs = [(r["gold"], r["answer"]) for r in rows]
    scorer = MathScorer()
    got = [
        r.accuracy == 1.0
        for r in scorer.score_many(
            [a for _, a in pairs], [g for g, _ in pairs], [None] * len(pairs), OPTIONS
        )
    ]
    assert not _disagreements(pairs, got)
    assert scorer.decided_by["native"] > 30 and scorer.decided_by["math_verify"] > 30
    assert 0.2 < sum(got) / len(got) < 0.8  # both verdicts well represented


# ---- generated tables: every native verdict checked against Math-Verify -------------------


def _atom(rng: random.Random, depth: int) -> str:
    r = rng.random()
    if r < 0.3:
        return str(rng.randint(0, 12))
    if r < 0.55:
        return rng.choice("xyznk")
    if r < 0.6:
        return "\\pi"
    if r < 0.65:
        return "e"
    if r < 0.8:
        return f"\\sqrt{{{rng.choice([2, 3, 4, 5, 8, 12, 18, 27])}}}"
    if r < 0.9 or depth > 1:
        return f"\\frac{{{rng.randint(1, 9)}}}{{{rng.randint(1, 9)}}}"
    return f"({_poly(rng, depth + 1)})"


def _term(rng: random.Random, depth: int) -> str:
    parts = [_atom(rng, depth) for _ in range(rng.randint(1, 2))]
    text = rng.choice(["", "\\cdot ", " "]).join(parts)
    if rng.random() < 0.25 and (not text.endswith("}") or text.startswith("(")):
        text += rng.choice(["^2", "^3", "^{2}"])
    if rng.random() < 0.1:
        text += rng.choice(["/2", "/3", "/4"])
    return text


def _poly(rng: random.Random, depth: int = 0) -> str:
    text = _term(rng, depth)
    for _ in range(rng.randint(0, 2)):
        text += rng.choice([" + ", "-", "+"]) + _term(rng, depth)
    return ("-" + text) if rng.random() < 0.15 else text


def _expression_pairs(rng: random.Random, n: int) -> list[tuple[str, str]]:
    out = []
    for _ in range(n):
        g = _poly(rng)
        r = rng.random()
        a = (
            g
            if r < 0.3
            else _poly(rng)
            if r < 0.5
            else g.replace("\\cdot ", "").replace(" ", "")
            if r < 0.7
            else g + rng.choice(["+0", "+1", "-1+1"])
        )
        if rng.random() < 0.1:
            g = rng.choice("xyznk") + " = " + g
        if rng.random() < 0.1:
            a = rng.choice("xyznk") + "=" + a
        wrap = rng.choice(["${}$", "$${}$$", "\\boxed{{{}}}", "\\({}\\)", "$\\boxed{{{}}}$"])
        out.append((wrap.format(g), wrap.format(a)))
    words = ["I cannot determine this", "seven", "no solution", "infinity", "x", "(A)", "yes"]
    for _ in range(n // 20):
        out.append((rng.choice(words), rng.choice([*words, "7", "$7$"])))
        out.append((rng.choice(["7", "$x$", "\\frac{1}{2}"]), rng.choice(words)))
    return out


_CONSTANTS = [
    "3",
    "-2",
    "0",
    "\\sqrt{2}",
    "\\sqrt{12}",
    "\\pi",
    "2\\pi",
    "\\frac{\\pi}{2}",
    "\\frac{1}{3}",
    "-\\frac{5}{4}",
    "\\infty",
    "-\\infty",
    "+\\infty",
]


def _value(text: str) -> float:
    table = {
        "3": 3,
        "-2": -2,
        "0": 0,
        "\\sqrt{2}": 2**0.5,
        "\\sqrt{12}": 12**0.5,
        "\\pi": math.pi,
        "2\\pi": 2 * math.pi,
        "\\frac{\\pi}{2}": math.pi / 2,
        "\\frac{1}{3}": 1 / 3,
        "-\\frac{5}{4}": -1.25,
        "\\infty": math.inf,
        "-\\infty": -math.inf,
        "+\\infty": math.inf,
    }
    return float(table[text])


def _float_text(rng: random.Random, x: float) -> str:
    return f"{x:.{rng.choice([2, 4, 6, 7])}f}"


def _mixed_pairs(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """Intervals (infinite and exact ends), assignments, floats against exact constants."""
    out = []
    while len(out) < n:
        r = rng.random()
        if r < 0.4:
            a, b = rng.choice(_CONSTANTS), rng.choice(_CONSTANTS)
            g = f"{rng.choice('([')}{a}, {b}{rng.choice(')]')}"
            k = rng.random()
            if k < 0.4:
                ans = g.replace(" ", "")
            elif k < 0.6:
                ans = f"{rng.choice('([')}{a},{b}{rng.choice(')]')}"
            elif k < 0.8 and math.isfinite(_value(a)):
                ans = f"{g[0]}{_float_text(rng, _value(a))}, {b}{g[-1]}"
            else:
                left, lo, hi = rng.choice("(["), rng.choice(_CONSTANTS), rng.choice(_CONSTANTS)
                ans = f"{left}{lo}, {hi}{rng.choice(')]')}"
            if rng.random() < 0.2:
                g = g.replace("(", "\\left(", 1).replace(")", "\\right)")
            out.append((f"${g}$", f"${ans}$"))
        elif r < 0.7:
            e1 = rng.choice(["3", "\\sqrt{2}", "2x+1", "x^2-1", "\\frac{1}{2}", "n+1"])
            e2 = rng.choice([e1, "-2", "1+2x", "(x-1)(x+1)", "3", "0.5"])
            g = f"${rng.choice('xyzk')} = {e1}$"
            out.append((g, rng.choice([f"${rng.choice('xyzk')}={e2}$", f"${e2}$", e2])))
        else:
            c = rng.choice([c for c in _CONSTANTS if "infty" not in c])
            x = _value(c) + rng.choice([0, 0, 1e-3, 1e-7, 0.1])
            a = rng.choice(["{}", "${}$", "\\boxed{{{}}}"]).format(_float_text(rng, x))
            out.append((f"${c}$", a) if rng.random() < 0.7 else (a, f"${c}$"))
    return out


_UNITS = [
    "cm",
    "m",
    "meters",
    "apples",
    "hours",
    "degrees",
    "km",
    "dollars",
    "units",
    "s",
    "percent",
    "answer",
    "pct",
]


def _unit_item(rng: random.Random, v: Fraction) -> str:
    num = rng.choice(
        [
            str(v.numerator) if v.denominator == 1 else f"{float(v)}",
            f"{float(v)}",
            f"\\frac{{{v.numerator}}}{{{v.denominator}}}",
        ]
    )
    unit = rng.choice(_UNITS)
    return rng.choice(
        [
            f"${num}\\text{{ {unit}}}$",
            f"${num} \\text{{{unit}}}$",
            f"{num} {unit}",
            f"\\boxed{{{num}\\text{{ {unit}}}}}",
            f"${num}\\mbox{{ {unit}}}^2$",
            f"${num}\\mathrm{{{unit}}}$",
            num,
            f"${num}$",
            f"${num}\\,\\text{{{unit}}}$",
        ]
    )


def _unit_pairs(rng: random.Random, n: int) -> list[tuple[str, str]]:
    out = []
    for _ in range(n):
        v = Fraction(rng.randint(-20, 300), rng.choice([1, 1, 2, 4, 10]))
        w = v if rng.random() < 0.6 else v + rng.choice([1, Fraction(1, 2)])
        out.append((_unit_item(rng, v), _unit_item(rng, w)))
    return out


def _entry(rng: random.Random) -> str:
    n = rng.randint(-9, 40)
    return rng.choice(
        [str(n), str(n), f"{n}.5", f"\\frac{{{n}}}{{{rng.choice([2, 3, 4])}}}", f"{n}.0"]
    )


def _tuple_pairs(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """Tuples and matrices of numbers: reordered, changed, written otherwise, or of the
    other kind (a tuple against a vector, an interval against a pair)."""
    out = []
    for _ in range(n):
        items = [_entry(rng) for _ in range(rng.choice([2, 2, 3, 4]))]
        other = list(items)
        r = rng.random()
        if r < 0.3:
            other[rng.randrange(len(other))] = _entry(rng)
        elif r < 0.45:
            rng.shuffle(other)
        elif r < 0.55:
            other = other[:-1] if len(other) > 2 else [*other, "1"]
        if rng.random() < 0.5:
            g = "(" + ", ".join(items) + ")"
            a = rng.choice(["({})", "\\left({}\\right)", "[{}]"]).format(",".join(other))
            if rng.random() < 0.2:
                a = "\\begin{pmatrix} " + " \\\\ ".join(other) + " \\end{pmatrix}"
        else:
            sep = rng.choice([" \\\\ ", " & "])
            g = "\\begin{pmatrix} " + sep.join(items) + " \\end{pmatrix}"
            env = rng.choice(["pmatrix", "bmatrix"])
            a = (
                f"\\begin{{{env}}} "
                + rng.choice([sep, " \\\\ ", " & "]).join(other)
                + f" \\end{{{env}}}"
            )
            if rng.random() < 0.2:
                a = "(" + ", ".join(other) + ")"
        out.append((f"${g}$", f"${a}$") if rng.random() < 0.8 else (f"${a}$", f"${g}$"))
    return out


def _argument(rng: random.Random) -> str:
    a = rng.choice(["", "2", "3", "5", "12"])
    v = rng.choice("xyn")
    return rng.choice([f"{a}{v}", f"{a}{v}+1", f"{v}^2", f"-{v}", f"{a}{v}-\\pi"])


def _function(rng: random.Random, name: str, arg: str) -> str:
    if name == "exp":
        return rng.choice([f"e^{{{arg}}}", f"\\exp({arg})"])
    bare = arg.isalnum() and arg[-1].isalpha() and rng.random() < 0.4
    return f"\\{name} {arg}" if bare else f"\\{name}({arg})"


_NAMES = ["sin", "cos", "exp", "tan", "cot", "ln"]


def _function_pairs(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """Sines, cosines and exponentials of polynomials, with factors and sums around them."""
    out = []
    for _ in range(n):
        name, arg = rng.choice(_NAMES), _argument(rng)
        g = _function(rng, name, arg)
        r = rng.random()
        if r < 0.35:
            a = _function(rng, name, arg.replace("+1", " + 1"))
        elif r < 0.5:
            a = _function(rng, rng.choice(_NAMES), _argument(rng))
        elif r < 0.6:
            a = "-" + _function(rng, name, arg)
        elif r < 0.7:
            a = _function(rng, name, arg) + " + 0"
        else:
            k = rng.choice(["2", "x", "\\frac{1}{2}"])
            g = f"{k}{_function(rng, name, arg)}" if g[-1] == ")" or name == "exp" else g
            a = rng.choice(
                [
                    f"{k}{_function(rng, name, arg)}",
                    f"{_function(rng, name, arg)} + 1",
                    f"\\frac{{{_function(rng, name, arg)}}}{{2}}",
                ]
            )
        out.append((f"${g}$", f"${a}$") if rng.random() < 0.8 else (f"${a}$", f"${g}$"))
    for _ in range(n // 4):  # products of functions, powers of exponentials
        arg, k = _argument(rng), rng.choice([2, 3, -1, 5])
        g = rng.choice([f"e^{{{k}({arg})}}", f"\\sin({arg})\\cos({arg})", f"e^{{{arg}}}"])
        a = rng.choice(
            [
                f"(e^{{{arg}}})^{{{k}}}",
                f"(e^{{{arg}}})^{rng.choice([2, 3])}",
                f"\\cos({arg})\\sin({arg})",
                f"\\sin({arg})\\sin({arg})",
                f"\\frac{{1}}{{2}}\\sin(2({arg}))",
            ]
        )
        out.append((f"${g}$", f"${a}$"))
    return out


def _side(rng: random.Random) -> str:
    v, a, b = rng.choice("xyn"), rng.randint(1, 5), rng.randint(-4, 4)
    return rng.choice(
        [
            f"{v}{b:+d}",
            f"{a}{v}{b:+d}",
            f"{v}^2{b:+d}",
            f"{v}^2-{a * a}",
            f"{v}+{a}",
            f"({v}-{a})({v}+{a})",
            f"{v}",
        ]
    )


def _rational_pairs(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """Rational functions, roots of polynomials and functions of them: equal quotients
    written otherwise (reordered, scaled, cancelled) and different ones."""
    out = []
    for _ in range(n):
        p, q = _side(rng), _side(rng)
        g = rng.choice(
            [
                f"\\frac{{{p}}}{{{q}}}",
                f"({p})/({q})",
                f"\\sqrt{{{p}}}",
                f"\\sin(\\frac{{{p}}}{{{q}}})",
            ]
        )
        r = rng.random()
        if r < 0.3:
            k = rng.choice([2, 3])
            a = rng.choice(
                [f"\\frac{{{k}({p})}}{{{k}({q})}}", f"({q})/({q})\\cdot 1", f"\\frac{{{p}}}{{{q}}}"]
            )
        elif r < 0.6:
            a = rng.choice(
                [
                    f"\\frac{{{_side(rng)}}}{{{q}}}",
                    f"\\frac{{{p}}}{{{_side(rng)}}}",
                    f"\\sqrt{{{_side(rng)}}}",
                ]
            )
        elif r < 0.8:
            a = rng.choice([p, q, str(rng.randint(-3, 3)), "0.5", f"{p} + 1"])
        else:
            a = g.replace("\\frac", "\\dfrac") if rng.random() < 0.5 else f"-{g}"
        out.append((f"${g}$", f"${a}$") if rng.random() < 0.8 else (f"${a}$", f"${g}$"))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    "make",
    [_expression_pairs, _mixed_pairs, _unit_pairs, _tuple_pairs, _function_pairs, _rational_pairs],
    ids=["expressions", "mixed", "units", "tuples", "functions", "rational"],
)
def test_native_verdicts_agree_with_math_verify(make) -> None:  # type: ignore[no-untyped-def]
    pairs = make(random.Random(20261202), 220)
    decided = [(g, a, v) for g, a in pairs if (v := verdict(g, a)) is not None]
    assert len(decided) > 110  # most are decided natively
    assert sum(v for _, _, v in decided) > 20 and sum(not v for _, _, v in decided) > 20
    assert not _disagreements([(g, a) for g, a, _ in decided], [v for _, _, v in decided])


# ---- GRPO-shaped batches: memo, native, workers ------------------------------------------


def test_grpo_batch_memo_and_shares() -> None:
    gold_answers = {
        "\\frac{1}{2}": [
            "\\frac{1}{2}",
            "0.5",
            "1/2",
            "$0.5$",
            "\\frac{1}{2}",
            "0.4",
            "0.4",
            "\\frac{1}{2}",
        ],
        "$x^2+2x+1$": [
            "$x^2+2x+1$",
            "$(x+1)^2$",
            "$x^2+2x+1$",
            "$(x-1)^2$",
            "$(x-1)^2$",
            "$\\sin^2 x + \\cos^2 x$",
            "$\\sin^2 x + \\cos^2 x$",
            "$x^2+2x+1$",
        ],
    }
    golds = [g for g, answers in gold_answers.items() for _ in answers]
    answers = [a for answers in gold_answers.values() for a in answers]
    scorer = MathScorer()
    batch = scorer.score_many(answers, golds, [None] * len(golds), OPTIONS)
    shares = dict(scorer.decided_by)
    # native: 1/2, 0.5, 0.4 and the two polynomials of different values; the memo takes the
    # repeats and the same values written otherwise (1/2 = \frac{1}{2}, (x+1)^2); one
    # trigonometric answer goes to Math-Verify, its repeat is memoised
    assert shares == {"native": 5, "cache": 10, "math_verify": 1}
    single = [
        MathScorer().score(a, g, data_type=None, options=OPTIONS)
        for g, a in zip(golds, answers, strict=True)
    ]
    assert batch == single
    assert [r.accuracy == 1.0 for r in batch] == [
        _math_verify(g, a) for g, a in zip(golds, answers, strict=True)
    ]


def test_percents_and_units_agree_with_math_verify() -> None:
    golds = ["$60\\%$", "60%", "\\boxed{60\\%}", "$100\\%$", "$5 \\%$", "$24$ cm", "$2.5$ m"]
    answers = [
        "60",
        "$60$",
        "0.6",
        "$0.6$",
        "\\frac{3}{5}",
        "60\\%",
        "65\\%",
        "$65\\%$",
        "60%",
        "1",
        "0.60001",
        "0.61",
        "6",
        "$60\\%$",
        "100",
        "5",
        "0.05",
        "24 cm",
        "24",
        "$24$",
        "2.5",
        "25",
    ]
    pairs = [p for g in golds for a in answers for p in ((g, a), (a, g))]
    decided = [(g, a, v) for g, a in pairs if (v := verdict(g, a)) is not None]
    assert len(decided) > 250
    assert sum(v for _, _, v in decided) > 40
    assert not _disagreements([(g, a) for g, a, _ in decided], [v for _, _, v in decided])
