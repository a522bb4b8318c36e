"""Math scoring throughput and hang-proofing.

Usage: ``python benchmarks/bench_math.py [--pairs N] [--timeout S]``

1. Realistic pairs (numbers, fractions, decimals, percentages, intervals, LaTeX
   expressions, equations, answers in words), scored by

   - the baseline: ``math_verify.verify(parse(gold), parse(answer))`` called directly in
     this process (its default signal-based timeouts, main thread);
   - :class:`unireward.tasks.math.MathScorer` item by item (``score``) and as a batch
     (``score_many``, the worker pool busy in parallel).

   Throughput in items/s, the ratio to the baseline, and the agreement with the baseline.
2. Adversarial inputs (power towers, huge factorials, a 1 MB expression, a polynomial
   that passes the screen but is slow): the scorer's items/s and worst latency with the
   given deadline. The baseline is not run on those: a power tower holds the GIL inside
   sympy for minutes and no timeout stops it.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import time
from fractions import Fraction

from unireward._mathsafe.worker import default_pool
from unireward.tasks.base import ScoreOptions
from unireward.tasks.math import MathScorer

ADVERSARIAL = [
    "\\boxed{9^{9^{9^{9}}}}",
    "\\dfrac{1}{2}^{\\dfrac{1}{2}^{\\dfrac{1}{2}^{\\dfrac{1}{2}}}}",
    "10000000!",
    "1+" * 500_000 + "1",
    "2^{99999999}",
    "9**9**9**9",
    "\\left(10^{9999}\\right)^{9999}",
    "{" * 100 + "1" + "}" * 100,
    "$(x+y+z+1)^{60}$",  # passes the screen: stopped by the deadline
]


def realistic_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    symbolic = [
        ("$x^2+2x+1$", ["$(x+1)^2$", "$x^2+2x+1$", "$x^2+1$"]),
        ("$\\frac{\\sqrt{3}}{2}$", ["$\\frac{1}{2}\\sqrt{3}$", "$\\sqrt{3}/2$", "$0.866$"]),
        ("$2\\sqrt{3}$", ["$\\sqrt{12}$", "$2\\sqrt{3}$", "$3\\sqrt{2}$"]),
        ("$y=2x+1$", ["$y=1+2x$", "$y=2x-1$"]),
        ("$x = 5$", ["5", "$x=5$", "x = 6"]),
        ("$\\{1, 2\\}$", ["$\\{2, 1\\}$", "$\\{1, 3\\}$"]),
        ("$(-\\infty, 3]$", ["$(-\\infty,3]$", "$(-\\infty, 3)$"]),
        ("$\\pi$", ["$3.14159265358979$", "3.14", "$\\pi$"]),
        ("$\\frac{\\pi}{4}$", ["$\\pi/4$", "$45^\\circ$", "$0.785$"]),
        ("1,000", ["1000", "1,000", "100"]),
        ("$e^{2}$", ["$e^2$", "$2e$"]),
        ("7", ["The answer is 7", "seven", "\\boxed{7}."]),
    ]
    out: list[tuple[str, str]] = []
    while len(out) < n:
        r = rng.random()
        if r < 0.6:  # numbers in the usual spellings
            v = Fraction(rng.randint(-200, 2000), rng.choice([1, 1, 1, 2, 4, 5, 10, 100]))
            if rng.random() < 0.3:
                v += rng.choice([1, Fraction(1, 10)])
            gold = rng.choice([str(float(v)) if v.denominator != 1 else str(v), f"\\frac{{{v.numerator}}}{{{v.denominator}}}"])
            w = Fraction(v) if rng.random() < 0.6 else v + rng.choice([1, Fraction(1, 2)])
            pred = rng.choice([
                str(w.numerator) if w.denominator == 1 else str(float(w)),
                f"$\\frac{{{w.numerator}}}{{{w.denominator}}}$",
                f"\\boxed{{{float(w)}}}",
                f"$$-\\dfrac{{{-w.numerator}}}{{{w.denominator}}}$$" if w < 0 else f"{float(w)}",
            ])
            out.append((gold, pred))
        elif r < 0.7:  # intervals and percentages
            a = rng.randint(-9, 9)
            out.append((f"$[{a}, {a + 3})$", rng.choice([f"$[{a},{a + 3})$", f"$({a}, {a + 3})$"])))
        else:
            gold, preds = rng.choice(symbolic)
            out.append((gold, rng.choice(preds)))
    return out


def baseline(pairs: list[tuple[str, str]]) -> tuple[float, list[bool], list[float]]:
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    lat, got = [], []
    t0 = time.perf_counter()
    for g, a in pairs:
        s = time.perf_counter()
        got.append(bool(verify(parse(g), parse(a))))
        lat.append(time.perf_counter() - s)
    return time.perf_counter() - t0, got, lat


def ours_single(pairs: list[tuple[str, str]], options: ScoreOptions) -> tuple[float, list[bool], list[float]]:
    s = MathScorer()
    lat, got = [], []
    t0 = time.perf_counter()
    for g, a in pairs:
        t = time.perf_counter()
        got.append(s.score(a, g, data_type=None, options=options).accuracy == 1.0)
        lat.append(time.perf_counter() - t)
    return time.perf_counter() - t0, got, lat


def ours_batch(pairs: list[tuple[str, str]], options: ScoreOptions) -> tuple[float, list[bool]]:
    s = MathScorer()
    t0 = time.perf_counter()
    res = s.score_many([a for _, a in pairs], [g for g, _ in pairs], [None] * len(pairs), options)
    return time.perf_counter() - t0, [r.accuracy == 1.0 for r in res]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=600)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()
    options = ScoreOptions(math_timeout=args.timeout)
    pairs = realistic_pairs(args.pairs)

    # warm up: worker processes started and imported, caches of both sides filled once
    MathScorer().score_many(["$\\sqrt{4}$"] * default_pool().size, ["2"] * default_pool().size, [None] * default_pool().size, options)
    baseline(pairs[:20])

    t_base, ref, lat_base = baseline(pairs)
    t_one, one, lat_one = ours_single(pairs, options)
    t_batch, batch = ours_batch(pairs, options)
    n = len(pairs)
    agree = sum(a == b for a, b in zip(ref, one, strict=True)) / n
    fast = sum(1 for x in lat_one if x < 0.0005) / n
    print(f"realistic pairs: {n}, pool size {default_pool().size}")
    print(f"  math_verify in-process : {n / t_base:8.1f} items/s  median {statistics.median(lat_base) * 1e3:.2f} ms")
    print(f"  MathScorer.score       : {n / t_one:8.1f} items/s  median {statistics.median(lat_one) * 1e3:.3f} ms"
          f"  ({(n / t_one) / (n / t_base):.2f}x)")
    print(f"  MathScorer.score_many  : {n / t_batch:8.1f} items/s  ({(n / t_batch) / (n / t_base):.2f}x)")
    print(f"  agreement with math_verify: {agree:.4f}; decided without symbolic work (<0.5 ms): {fast:.2f}")
    mismatches = [(p, r, o) for p, r, o in zip(pairs, ref, one, strict=True) if r != o]
    for m in mismatches[:5]:
        print("  mismatch:", m)

    lat = []
    s = MathScorer()
    t0 = time.perf_counter()
    statuses = []
    for text in ADVERSARIAL:
        t = time.perf_counter()
        r = s.score(text, "3", data_type=None, options=options)
        lat.append(time.perf_counter() - t)
        statuses.append(r.status.value)
    total = time.perf_counter() - t0
    print(f"adversarial inputs: {len(ADVERSARIAL)}, deadline {args.timeout:g} s")
    print(f"  {len(ADVERSARIAL) / total:.2f} items/s, max latency {max(lat):.2f} s, "
          f"screened max latency {max(x for x, st in zip(lat, statuses, strict=True) if st == 'parse_error') * 1e3:.1f} ms")
    print(f"  statuses: {statuses}")


if __name__ == "__main__":
    main()
