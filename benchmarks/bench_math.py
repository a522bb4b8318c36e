"""Math scoring against Math-Verify: throughput, verdict agreement, hang-proofing.

Usage: ``python benchmarks/bench_math.py [--problems N] [--symbolic N] [--workers K]
[--hard SHARE] [--needing-mv SHARE]``

Tables (all scored in one run, Math-Verify first, in this process):

1. **GRPO batches**: ``--problems`` problems (512: a training step of 4,096 rollouts)
   with 8 rollouts each; per problem, 40% of
   the rollouts give the ground truth's exact string, 20% an equivalent spelling
   (``\\frac{1}{2}`` / ``0.5`` / ``1/2``, ``(x+1)^2`` / ``x^2+2x+1``), 40% wrong answers
   drawn from a few per problem (wrong answers repeat too). A share ``--hard`` (8% by
   default) of the problems have structured answers (vectors, units in words,
   exponential and trigonometric functions, percents in math mode, ordered pairs), each
   with its own numbers; the others are numbers (about 52%) and expressions, intervals,
   sets and equations (40%). Scored as one batch.
2. **GRPO batches needing Math-Verify**: the same, except that the structured problems
   are replaced by a share ``--needing-mv`` (8% by default) of problems whose equivalent
   spellings only Math-Verify can compare (``(e^{x})^{3}`` against ``e^{3x}``, a double
   angle, ``\\tan`` against a quotient, the root of a polynomial, rational functions,
   sums of logarithms).
3. **Unique symbolic pairs**: ``--symbolic`` distinct pairs that all need symbolic work
   (polynomials, radicals, ``\\pi``, equations, trigonometry, logarithms, exponentials,
   intervals and sets with expressions, matrices), no pair repeated. Scored as one batch.
4. **Broad table** (tests/mathsafe/data/broad_table.json): numbers, fractions, percents,
   units, intervals, sets, tuples, equations, matrices, expressions, answers in words.

The baseline is the reference's call pattern, ``verify(parse(gold), parse(answer))``, with
Math-Verify's default (signal-based) timeouts, on the main thread of this process: one
core. unireward runs ``MathScorer.score_many`` with ``--workers`` math workers (default 1:
one core for the symbolic work; the native path and the memo run in this process, the
process waits while its one worker computes). Every verdict disagreement is printed.

5. **Adversarial inputs**: the scorer's worst latency with the deadline (the baseline is
   not run on those: a power tower holds the GIL inside sympy for minutes).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path

BROAD = Path(__file__).resolve().parents[1] / "tests" / "mathsafe" / "data" / "broad_table.json"

ADVERSARIAL = [
    "\\boxed{9^{9^{9^{9}}}}",
    "$\\dfrac{1}{2}^{\\dfrac{1}{2}^{\\dfrac{1}{2}^{\\dfrac{1}{2}}}}$",
    "$10000000!$",
    "1+" * 500_000 + "1",
    "$2^{99999999}$",
    "9**9**9**9",
    "$\\left(10^{9999}\\right)^{9999}$",
    "$(x+y+z+1)^{60}$",  # passes the screen: stopped by the deadline
]

# ---- tables ------------------------------------------------------------------------------


def _num_problem(rng: random.Random) -> tuple[str, list[str], list[str]]:
    kind = rng.random()
    if kind < 0.55:
        v = Fraction(rng.randint(-50, 2000))
    elif kind < 0.8:
        v = Fraction(rng.randint(-99, 99), rng.choice([2, 3, 4, 5, 6, 8, 12]))
    else:
        v = Fraction(rng.randint(-999, 9999), rng.choice([10, 100]))
    n, d = v.numerator, v.denominator
    sign = "-" if v < 0 else ""
    exact = [f"{sign}\\frac{{{abs(n)}}}{{{d}}}", f"{n}/{d}", f"${sign}\\dfrac{{{abs(n)}}}{{{d}}}$"]
    if d == 1:
        gold = rng.choice([str(n), f"${n}$"])
        same = [str(n), f"\\boxed{{{n}}}", f"{n}.0", f"${n}$"]
    elif 10 % d == 0 or 100 % d == 0:
        gold = rng.choice([str(float(v)), exact[0]])
        same = [str(float(v)), f"\\boxed{{{float(v)}}}", *exact]
    else:
        gold = exact[0]
        same = exact + [f"\\boxed{{{exact[0]}}}"]
    wrong = [
        str(n + rng.choice([-2, -1, 1, 2, 10]) * d) if d == 1 else f"{n + 1}/{d}",
        str(-n) if n else "1",
        f"\\boxed{{{n * 2}}}",
        "$x = 3$",
        "I cannot determine this",
    ]
    return gold, [s for s in same if s != gold], wrong


def _expression_problem(rng: random.Random) -> tuple[str, list[str], list[str]]:
    """A problem with an expression, interval, set or equation for answer (own numbers)."""
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    m = rng.choice([2, 3, 5, 6, 7])
    kind = rng.randrange(10)
    if kind == 0:
        return (
            f"$x^2+{2 * a}x+{a * a}$",
            [f"$(x+{a})^2$", f"$({a}+x)^2$", f"$x^2+{a * a}+{2 * a}x$"],
            [f"$(x-{a})^2$", f"$x^2+{a * a}$", f"$x^2+{2 * a}x$"],
        )
    if kind == 1:
        return (
            f"${a}\\sqrt{{{m}}}$",
            [f"$\\sqrt{{{a * a * m}}}$", f"${a} \\sqrt{{{m}}}$"],
            [f"${m}\\sqrt{{{a}}}$", f"$\\sqrt{{{a * m}}}$", f"${a * m**0.5:.2f}$"],
        )
    if kind == 2:
        return (
            f"$\\frac{{\\pi}}{{{a}}}$",
            [f"$\\pi/{a}$", f"$\\frac{{1}}{{{a}}}\\pi$"],
            [f"$\\frac{{\\pi}}{{{a + 1}}}$", "$\\pi$", f"${3.14159 / a:.3f}$"],
        )
    if kind == 3:
        return (
            f"$y = {a}x + {b}$",
            [f"$y={b}+{a}x$", f"${a}x+{b}$"],
            [f"$y={a}x-{b}$", f"$y = x + {b}$", f"${a}x$"],
        )
    if kind == 4:
        return (
            f"$x = {a * b}$",
            [str(a * b), f"$x={a * b}$"],
            [f"$x={a * b + 1}$", str(a + b), f"$x = -{a * b}$"],
        )
    if kind == 5:
        return (
            f"$(-\\infty, {a}]$",
            [f"$(-\\infty,{a}]$"],
            [f"$(-\\infty, {a})$", f"$[{a}, \\infty)$"],
        )
    if kind == 6:
        return (
            f"$\\{{{a}, {a + b}\\}}$",
            [f"$\\{{{a + b}, {a}\\}}$", f"$\\{{{a},{a + b}\\}}$"],
            [f"$\\{{{a}, {a + b + 1}\\}}$", f"$\\{{{a}\\}}$"],
        )
    if kind == 7:
        return f"$e^{{{a}}}$", [f"$e^{a}$"], [f"${a}e$", f"$e^{{{a + 1}}}$"]
    if kind == 8:
        return (f"$n(n+{a})$", [f"$n^2+{a}n$", f"${a}n+n^2$"], ["$n^2$", f"$n(n-{a})$"])
    return (
        f"$\\frac{{\\sqrt{{{m}}}}}{{{a}}}$",
        [f"$\\frac{{1}}{{{a}}}\\sqrt{{{m}}}$", f"$\\sqrt{{{m}}}/{a}$"],
        [f"$\\frac{{\\sqrt{{{m}}}}}{{{a + 1}}}$", f"$\\sqrt{{{m}}}$"],
    )


def _hard_problem(rng: random.Random) -> tuple[str, list[str], list[str]]:
    """A problem with a structured answer, each with its own numbers (all decided by the
    native reader; they needed Math-Verify before it read vectors, tuples and functions)."""
    a, b = rng.randint(2, 40), rng.randint(2, 40)
    kind = rng.randrange(6)
    if kind == 0:  # a vector
        m = f"\\begin{{pmatrix}} {a} \\\\ {b} \\end{{pmatrix}}"
        return (
            f"${m}$",
            [f"${m.replace('pmatrix', 'bmatrix')}$"],
            [f"${m.replace(str(b), str(b + 1))}$", f"$({a}, {b})$"],
        )
    if kind == 1:  # a unit written as a word in math mode
        return f"${a}$ cm", [f"{a} cm", f"${a}\\text{{ cm}}$"], [f"{a + 1} cm", f"${a * 10}$ mm"]
    if kind == 2:  # an exponential function
        return (
            f"$e^{{{a}x}}$",
            [f"$e^{{{a} x}}$", f"$\\exp({a}x)$"],
            [f"$e^{{{a + 1}x}}$", f"${a}e^{{x}}$"],
        )
    if kind == 3:  # a percent in math mode
        return (
            f"${a}\\%$",
            [f"${a}\\%$", str(a), f"{a / 100}"],
            [f"{a + 5}\\%", f"${(a + 5) / 100}$"],
        )
    if kind == 4:  # a trigonometric function
        return f"$\\sin({a}x)$", [f"$\\sin {a}x$"], [f"$\\cos({a}x)$", f"$-\\sin({a}x)$"]
    hi, lo = max(a, b) + 1, min(a, b)  # an ordered pair that is no interval
    return f"$({hi}, {lo})$", [f"$({hi},{lo})$"], [f"$({lo}, {hi})$", f"$({hi}, {lo + 1})$"]


def _symbolic_problem(rng: random.Random) -> tuple[str, list[str], list[str]]:
    """A problem whose equivalent spellings only Math-Verify can compare (identities,
    rational functions, roots of polynomials, logarithms), each with its own numbers."""
    a, b = rng.randint(2, 40), rng.randint(2, 40)
    kind = rng.randrange(6)
    if kind == 0:  # a power of an exponential
        return (
            f"$e^{{{a}x}}$",
            [f"$(e^{{x}})^{{{a}}}$"],
            [f"$(e^{{x}})^{{{a + 1}}}$", f"${a}e^{{x}}$"],
        )
    if kind == 1:  # a double angle
        return (
            f"$\\sin({2 * a}x)$",
            [f"$2\\sin({a}x)\\cos({a}x)$"],
            [f"$2\\sin({a}x)$", f"$\\sin({a}x)\\cos({a}x)$"],
        )
    if kind == 2:  # a tangent
        return (
            f"$\\tan({a}x)$",
            [f"$\\frac{{\\sin({a}x)}}{{\\cos({a}x)}}$"],
            [f"$\\cot({a}x)$", f"$\\tan({a + 1}x)$"],
        )
    if kind == 3:  # the root of a polynomial
        return (
            f"$\\sqrt{{x^2+{a}}}$",
            [f"$(x^2+{a})^{{1/2}}$"],
            [f"$x+\\sqrt{{{a}}}$", f"$\\sqrt{{x^2+{a + 1}}}$"],
        )
    if kind == 4:  # a rational function
        return (
            f"$\\frac{{x+{a}}}{{x-{b}}}$",
            [f"$\\frac{{{a}+x}}{{x-{b}}}$", f"$(x+{a})/(x-{b})$"],
            [f"$\\frac{{x-{a}}}{{x-{b}}}$", f"$\\frac{{x+{a}}}{{x+{b}}}$"],
        )
    return (
        f"$\\ln({a * b})$",
        [f"$\\ln {a} + \\ln {b}$", f"$\\ln({b * a})$"],
        [f"$\\ln({a + b})$", f"$\\ln {a} \\cdot \\ln {b}$"],
    )


def grpo_table(
    problems: int, seed: int = 0, rollouts: int = 8, hard: float = 0.08, symbolic: float = 0.0
) -> list[tuple[str, str]]:
    """``hard``: share of problems with structured answers (:func:`_hard_problem`);
    ``symbolic``: share of problems needing Math-Verify (:func:`_symbolic_problem`)."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for _ in range(problems):
        r = rng.random()
        if r < symbolic:
            gold, same, wrong = _symbolic_problem(rng)
        elif r < symbolic + hard:
            gold, same, wrong = _hard_problem(rng)
        elif r < 0.6:
            gold, same, wrong = _num_problem(rng)
        else:
            gold, same, wrong = _expression_problem(rng)
        wrong = rng.sample(wrong, min(len(wrong), rng.choice([1, 2, 2, 3])))
        for _ in range(rollouts):
            r = rng.random()
            if r < 0.4 or not same:
                out.append((gold, gold))
            elif r < 0.6:
                out.append((gold, rng.choice(same)))
            else:
                out.append((gold, rng.choice(wrong)))
    return out


def _poly_text(rng: random.Random, var: str) -> str:
    terms = []
    for power in range(rng.randint(1, 3), -1, -1):
        c = rng.randint(-9, 9)
        if c == 0:
            continue
        mono = "" if power == 0 else var if power == 1 else f"{var}^{{{power}}}"
        coef = str(c) if (power == 0 or abs(c) != 1) else ("-" if c < 0 else "")
        terms.append(f"{coef}{mono}")
    text = "+".join(terms).replace("+-", "-") or "0"
    return text


def _symbolic_pair(rng: random.Random) -> tuple[str, list[str]]:
    """A gold that needs symbolic work and the answers to draw one from."""
    r = rng.random()
    var = rng.choice("xyznk")
    if r < 0.30:  # factored against expanded polynomials
        a, b = rng.randint(-9, 9), rng.randint(-9, 9)
        expanded = f"{var}^2{a + b:+d}{var}{a * b:+d}"
        return f"${expanded}$", [f"$({var}{a:+d})({var}{b:+d})$",
                                 f"${expanded}$".replace(f"{var}^2", f"{var}^{{2}}"),
                                 f"$({var}{a:+d})({var}{b + 1:+d})$"]
    if r < 0.45:  # radicals
        k, m = rng.randint(2, 9), rng.choice([2, 3, 5, 6, 7])
        return f"${k}\\sqrt{{{m}}}$", [f"$\\sqrt{{{k * k * m}}}$", f"$\\sqrt{{{k * k * m + 1}}}$",
                                       f"$\\frac{{{k * m}}}{{\\sqrt{{{m}}}}}$"]
    if r < 0.55:  # pi
        p, q = rng.randint(1, 12), rng.randint(2, 12)
        return f"$\\frac{{{p}\\pi}}{{{q}}}$", [f"$\\frac{{{p}}}{{{q}}}\\pi$", f"${p}\\pi/{q}$",
                                               f"$\\frac{{{p + 1}\\pi}}{{{q}}}$"]
    if r < 0.65:  # equations
        poly = _poly_text(rng, "x")
        return f"$y = {poly}$", [f"$y={poly}$".replace(" ", ""), f"${poly}$",
                                 f"$y = {_poly_text(rng, 'x')}$"]
    if r < 0.75:  # trigonometry, logarithms, exponentials
        a = rng.randint(2, 9)
        gold = rng.choice([f"$\\sin^2 {var} + \\cos^2 {var}$", f"$\\log_{{{a}}} {a**3}$",
                           f"$e^{{{a}{var}}}$", f"$\\ln({a})$"])
        return gold, ["1", "3", f"$e^{{{var}}}^{{{a}}}$", f"$(e^{{{var}}})^{{{a}}}$", f"$\\ln {a}$"]
    if r < 0.82:  # intervals and sets with expressions
        a = rng.randint(1, 9)
        return f"$(-\\infty, \\sqrt{{{a}}}]$", [f"$(-\\infty,\\sqrt{{{a}}}]$",
                                                f"$(-\\infty, {a**0.5:.4f}]$",
                                                f"$[\\sqrt{{{a}}}, \\infty)$"]
    if r < 0.9:  # matrices
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        g = f"$\\begin{{pmatrix}} {a} & {b} \\\\ {b} & {a} \\end{{pmatrix}}$"
        return g, [g.replace("pmatrix", "bmatrix"), g.replace(f"{b} & {a}", f"{b} & {a + 1}")]
    k = rng.randint(2, 30)  # floats against radicals and fractions
    return f"$\\frac{{1}}{{{k}}}\\sqrt{{2}}$", [f"${2**0.5 / k:.6f}$", f"${2**0.5 / k:.3f}$",
                                                 f"$\\frac{{\\sqrt{{2}}}}{{{k}}}$"]


def symbolic_table(n: int, seed: int = 1) -> list[tuple[str, str]]:
    """Distinct pairs that all need symbolic work (see the module docs)."""
    rng = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    while len(out) < n:
        gold, answers = _symbolic_pair(rng)
        pair = (gold, rng.choice(answers))
        if pair not in seen:
            seen.add(pair)
            out.append(pair)
    return out


def broad_table() -> list[tuple[str, str]]:
    return [(r["gold"], r["answer"]) for r in json.loads(BROAD.read_text())]


# ---- runs --------------------------------------------------------------------------------


def math_verify_run(pairs: list[tuple[str, str]]) -> tuple[float, list[bool]]:
    from math_verify import parse, verify

    got = []
    t0 = time.perf_counter()
    for g, a in pairs:
        got.append(bool(verify(parse(g), parse(a))))
    return time.perf_counter() - t0, got


def unireward_run(
    pairs: list[tuple[str, str]], scorer: object, options: object
) -> tuple[float, list[bool]]:
    t0 = time.perf_counter()
    res = scorer.score_many(
        [a for _, a in pairs], [g for g, _ in pairs], [None] * len(pairs), options
    )  # type: ignore[attr-defined]
    return time.perf_counter() - t0, [r.accuracy == 1.0 for r in res]


def report(name: str, pairs: list[tuple[str, str]], options: object) -> tuple[float, int]:
    from unireward.tasks.math import MathScorer

    scorer = MathScorer()
    t_ref, ref = math_verify_run(pairs)
    t_ours, ours = unireward_run(pairs, scorer, options)
    n = len(pairs)
    ratio = t_ref / t_ours
    shares = scorer.decided_by
    total = sum(shares.values())
    print(f"{name}: {n} pairs")
    print(f"  Math-Verify verify(parse(g), parse(a)) : {n / t_ref:9.1f} items/s")
    print(f"  unireward MathScorer.score_many        : {n / t_ours:9.1f} items/s  ({ratio:.1f}x)")
    print("  decided: " + ", ".join(f"{k} {v / total:.1%}" for k, v in shares.most_common()))
    bad = [(g, a, r, o) for (g, a), r, o in zip(pairs, ref, ours, strict=True) if r != o]
    print(f"  disagreements with Math-Verify: {len(bad)}")
    for g, a, r, o in bad:
        print(f"    gold={g!r} answer={a!r} math_verify={r} unireward={o}")
    return ratio, len(bad)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--problems", type=int, default=512, help="GRPO problems (8 rollouts each)")
    ap.add_argument("--symbolic", type=int, default=300, help="unique symbolic pairs")
    ap.add_argument("--workers", type=int, default=1, help="math worker processes")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--hard",
        type=float,
        default=0.08,
        help="share of GRPO problems with structured answers (vectors, functions ...)",
    )
    ap.add_argument(
        "--needing-mv",
        type=float,
        default=0.08,
        help="share of the second GRPO table's problems needing Math-Verify itself",
    )
    ap.add_argument(
        "--tables",
        default="grpo,grpo_mv,symbolic,broad,adversarial",
        help="comma-separated: grpo, grpo_mv, symbolic, broad, adversarial",
    )
    args = ap.parse_args()
    os.environ["UNIREWARD_MATH_WORKERS"] = str(args.workers)
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)

    from unireward._mathsafe.worker import WARM_UP, default_pool
    from unireward.tasks.base import ScoreOptions

    options = ScoreOptions(math_timeout=args.timeout)
    assert default_pool().wait_ready(), "math workers did not start"
    math_verify_run(list(WARM_UP))  # the baseline warmed up as the workers are
    print(f"one run, {args.workers} math worker(s), deadline {args.timeout:g} s per step")
    tables = {
        "grpo": (
            f"GRPO batches (8 rollouts per problem, {args.hard:.0%} structured problems)",
            lambda: grpo_table(args.problems, args.seed, hard=args.hard),
        ),
        "grpo_mv": (
            f"GRPO batches, {args.needing_mv:.0%} of the problems needing Math-Verify",
            lambda: grpo_table(args.problems, args.seed, hard=0.0, symbolic=args.needing_mv),
        ),
        "symbolic": ("unique symbolic pairs", lambda: symbolic_table(args.symbolic, args.seed + 1)),
        "broad": ("broad table", broad_table),
    }
    chosen = [t.strip() for t in args.tables.split(",") if t.strip()]
    unknown = set(chosen) - set(tables) - {"adversarial"}
    if unknown:
        ap.error(f"unknown tables: {sorted(unknown)}")
    results = {
        k: report(title, make(), options) for k, (title, make) in tables.items() if k in chosen
    }
    print(
        "summary: "
        + ", ".join(f"{k} {r:.1f}x ({d} disagreements)" for k, (r, d) in results.items())
    )
    if "adversarial" in chosen:
        adversarial(options)


def adversarial(options: object) -> None:
    """The scorer's worst latency on :data:`ADVERSARIAL` (no baseline: see the docs)."""
    from unireward.tasks.math import MathScorer

    scorer = MathScorer()
    lat, statuses = [], []
    for text in ADVERSARIAL:
        t = time.perf_counter()
        r = scorer.score(text, "3", data_type=None, options=options)
        lat.append(time.perf_counter() - t)
        statuses.append(r.status.value)
    print(
        f"adversarial inputs: {len(ADVERSARIAL)}, max latency {max(lat):.2f} s, "
        f"statuses {Counter(statuses)}"
    )


if __name__ == "__main__":
    main()
