"""Raw geometry kernels against per-pair Python loops, in the same process on one core.

Run: python benchmarks/bench_geometry.py [--pairs 1000000] [--rounds 5]
Prints pairs (or items) per second and the speed-up over the loop (best of the rounds,
as timeit does: the least disturbed run on a shared machine).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import time
from collections.abc import Callable

import numpy as np

from unireward.geometry import box_iou, box_iou_pairwise, interval_iou, point_set_similarity


def loop_box_iou(p: list[float], g: list[float]) -> float:
    ap = max(0.0, p[2] - p[0]) * max(0.0, p[3] - p[1])
    ag = max(0.0, g[2] - g[0]) * max(0.0, g[3] - g[1])
    iw = max(0.0, min(p[2], g[2]) - max(p[0], g[0]))
    ih = max(0.0, min(p[3], g[3]) - max(p[1], g[1]))
    inter = iw * ih
    union = ap + ag - inter
    return inter / union if union > 0 else 0.0


def loop_interval_iou(p: list[float], g: list[float]) -> float:
    inter = max(0.0, min(p[1], g[1]) - max(p[0], g[0]))
    union = max(p[1], g[1]) - min(p[0], g[0])
    return inter / union if union > 1e-12 else 0.0


def loop_points(p: list[list[float]], g: list[list[float]]) -> float:
    best = min(
        sum(math.dist(p[i], g[j]) for i, j in enumerate(perm))
        for perm in itertools.permutations(range(3))
    )
    d = best / 3
    return math.exp(-(d * d) / 5000.0)


def best_time(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.uniform(0, 800, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(1, 200, (n, 2))], axis=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--loop-pairs", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = np.random.default_rng(0)
    n, m = args.pairs, args.loop_pairs

    rows = []
    a, b = boxes(rng, n), boxes(rng, n)
    al, bl = a[:m].tolist(), b[:m].tolist()
    t_vec = best_time(lambda: box_iou(a, b), args.rounds)
    t_loop = best_time(
        lambda: [loop_box_iou(p, g) for p, g in zip(al, bl, strict=True)], max(1, args.rounds // 2)
    )
    rows.append(("box_iou (element-wise)", n / t_vec, m / t_loop))

    side = int(math.sqrt(n))
    pa, pb = boxes(rng, side), boxes(rng, side)
    t_pw = best_time(lambda: box_iou_pairwise(pa, pb), args.rounds)
    rows.append((f"box_iou_pairwise ({side} x {side})", side * side / t_pw, m / t_loop))

    s = rng.uniform(0, 100, n)
    ia = np.stack([s, s + rng.uniform(1, 30, n)], 1)
    ib = np.stack([s + rng.normal(0, 5, n), s + rng.uniform(1, 30, n)], 1)
    ial, ibl = ia[:m].tolist(), ib[:m].tolist()
    t_vec = best_time(lambda: interval_iou(ia, ib), args.rounds)
    t_loop = best_time(
        lambda: [loop_interval_iou(p, g) for p, g in zip(ial, ibl, strict=True)],
        max(1, args.rounds // 2),
    )
    rows.append(("interval_iou", n / t_vec, m / t_loop))

    k = n // 10
    pts_a, pts_b = rng.uniform(0, 1000, (k, 3, 2)), rng.uniform(0, 1000, (k, 3, 2))
    ml = m // 10
    pal, pbl = pts_a[:ml].tolist(), pts_b[:ml].tolist()
    t_vec = best_time(lambda: point_set_similarity(pts_a, pts_b), args.rounds)
    t_loop = best_time(
        lambda: [loop_points(p, g) for p, g in zip(pal, pbl, strict=True)], max(1, args.rounds // 2)
    )
    rows.append(("point_set_similarity (3 points)", k / t_vec, ml / t_loop))

    print(f"one core, best of {args.rounds} rounds; vectorised on {n:,} pairs, loops on {m:,}")
    print(f"{'kernel':36s} {'vectorised/s':>14s} {'loop/s':>12s} {'speed-up':>9s}")
    for name, vec, loop in rows:
        print(f"{name:36s} {vec:14,.0f} {loop:12,.0f} {vec / loop:8.0f}x")


if __name__ == "__main__":
    main()
