"""Advantage estimators against a straightforward per-group loop, in one process.

Run: python benchmarks/bench_advantage.py [--prompts 512] [--n 8] [--tasks 8] [--repeat 20]

The baseline is how GRPO-style advantages are often written in trainers: a dict from group
id to a list of scores, a Python loop over the groups for the mean and std, then a loop
over the samples (and, for EMA-GRPO, a loop over the tasks for the batch moments). Both
sides compute the same numbers (checked before timing). With torch installed, the torch
twin is timed too (CPU, and CUDA when present).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from unireward.advantage import EMARewardNormalizer, ema_grpo, grpo


def _mean(v: list[float]) -> float:
    return sum(v) / len(v)


def _std(v: list[float], ddof: int) -> float:
    m = _mean(v)
    return math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - ddof))


def loop_grpo(scores: list[float], uids: list[str], eps: float = 1e-6) -> list[float]:
    by_group: dict[str, list[float]] = {}
    for s, u in zip(scores, uids, strict=True):
        by_group.setdefault(u, []).append(s)
    stats = {u: (_mean(v), _std(v, 1) if len(v) > 1 else 0.0) for u, v in by_group.items()}
    return [
        0.0 if len(by_group[u]) < 2 else (s - stats[u][0]) / (stats[u][1] + eps)
        for s, u in zip(scores, uids, strict=True)
    ]


class LoopEMA:
    """EMA-GRPO written as plain loops (float64 throughout)."""

    def __init__(
        self, beta: float = 0.99, min_std: float = 1e-3, eps: float = 1e-6, guard: float = 5.0
    ) -> None:
        self.beta, self.min_std, self.eps, self.guard = beta, min_std, eps, guard
        self.m: dict[str, list[float]] = {}

    def __call__(self, scores: list[float], uids: list[str], tasks: list[str]) -> list[float]:
        by_task: dict[str, list[float]] = {}
        for s, t in zip(scores, tasks, strict=True):
            by_task.setdefault(t, []).append(s)
        for t, v in by_task.items():
            m1b, m2b = _mean(v), _mean([x * x for x in v])
            if t in self.m:
                m = self.m[t]
                m[0] = self.beta * m[0] + (1 - self.beta) * m1b
                m[1] = self.beta * m[1] + (1 - self.beta) * m2b
            else:
                self.m[t] = [m1b, m2b]
        sigma = {t: math.sqrt(max(m[1] - m[0] ** 2, self.min_std**2)) for t, m in self.m.items()}
        by_group: dict[str, list[int]] = {}
        for i, u in enumerate(uids):
            by_group.setdefault(u, []).append(i)
        out = [0.0] * len(scores)
        for idx in by_group.values():
            if len(idx) < 2:
                continue
            vals = [scores[i] for i in idx]
            mean = _mean(vals)
            adv = [(scores[i] - mean) / (sigma[tasks[i]] + self.eps) for i in idx]
            if any(abs(a) > self.guard for a in adv):
                pop = _std(vals, 0)
                adv = [(scores[i] - mean) / (pop + self.eps) for i in idx]
            for i, a in zip(idx, adv, strict=True):
                out[i] = a
        return out


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=512)
    ap.add_argument("--n", type=int, default=8, help="rollouts per prompt")
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()

    rng = np.random.default_rng(0)
    size = a.prompts * a.n
    scores = rng.choice([0.0, 0.1, 0.6, 0.75, 1.05, 1.2, 1.5], size=size).tolist()
    uids = [f"p{i // a.n}" for i in range(size)]
    prompt_task = rng.integers(0, a.tasks, a.prompts)
    tasks = [f"task {prompt_task[i // a.n]}" for i in range(size)]

    np.testing.assert_allclose(grpo(scores, uids), loop_grpo(scores, uids), atol=1e-5)
    np.testing.assert_allclose(
        ema_grpo(scores, uids, tasks, normalizer=EMARewardNormalizer()),
        LoopEMA()(scores, uids, tasks),
        atol=1e-4,
    )

    rows: list[tuple[str, float, float]] = []
    base_grpo = best_of(lambda: loop_grpo(scores, uids), a.repeat)
    rows.append(("grpo numpy", base_grpo, best_of(lambda: grpo(scores, uids), a.repeat)))
    loop_ema, norm = LoopEMA(), EMARewardNormalizer()
    base_ema = best_of(lambda: loop_ema(scores, uids, tasks), a.repeat)
    rows.append(
        (
            "ema_grpo numpy",
            base_ema,
            best_of(lambda: ema_grpo(scores, uids, tasks, normalizer=norm), a.repeat),
        )
    )
    try:
        import torch

        from unireward.advantage import torch as adv_torch
    except ImportError:
        torch = None  # type: ignore[assignment]
    if torch is not None:
        torch.set_num_threads(1)  # one core, like the numpy side
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for dev in devices:
            r = torch.tensor(scores, device=dev)

            def run_ema(r: Any = r, dev: str = dev) -> None:
                adv_torch.ema_grpo(r, uids, tasks, normalizer=norm)
                if dev == "cuda":
                    torch.cuda.synchronize()

            def run_grpo(r: Any = r, dev: str = dev) -> None:
                adv_torch.grpo(r, uids)
                if dev == "cuda":
                    torch.cuda.synchronize()

            run_ema()
            rows.append((f"grpo torch {dev}", base_grpo, best_of(run_grpo, a.repeat)))
            rows.append((f"ema_grpo torch {dev}", base_ema, best_of(run_ema, a.repeat)))

    print(f"{size} rewards ({a.prompts} prompts x {a.n}, {a.tasks} tasks), best of {a.repeat}")
    print(f"{'estimator':<22}{'loop ms':>10}{'ours ms':>10}{'speed-up':>10}")
    for name, base, ours in rows:
        print(f"{name:<22}{base * 1e3:>10.2f}{ours * 1e3:>10.2f}{base / ours:>9.1f}x")


if __name__ == "__main__":
    main()
