"""Trainer adapters against ``score_batch`` on the same records, in one process.

Run: python benchmarks/bench_integrations.py [--rows 1024] [--repeat 5]

The baseline is ``unireward.score_batch(records, errors="record")`` on records already in
unireward's shape. Each adapter is timed on the same rows in its trainer's shape: TRL's
reward function (columns, conversational completions, the log hooks), EasyR1's batch
function (a list of dicts), verl's ``compute_score_batch`` (the batch manager) and verl's
per-sample ``compute_score`` called once per row (what the naive, dapo and reward-loop
managers do). The verl rows need verl installed. All sides give the same totals (checked
before timing). The figures are ratios to the baseline: the adapter's own cost.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import unireward
from unireward.integrations.easyr1 import compute_score as easyr1_score
from unireward.integrations.rewards import UniRewardFunction

SHAPES = [  # (task, data type, ground truth, completion)
    ("multiple choice", "image", "B", "<think>look at the image</think><answer>B</answer>"),
    ("numerical", "image", "4", "<think>count</think><answer>4.0</answer>"),
    (
        "temporal grounding",
        "video",
        '{"time": [1.0, 3.5]}',
        '<think>t</think><answer>{"time": [1.2, 3.0]}</answer>',
    ),
    (
        "spatial grounding",
        "image",
        '{"boxes": [[10, 10, 50, 60]]}',
        '<think>t</think><answer>{"boxes": [[12, 8, 48, 61]]}</answer>',
    ),
    (
        "open-ended",
        "video",
        "the man is cooking pasta",
        "<think>t</think><answer>a man cooks pasta</answer>",
    ),
    ("no such task", "image", "x", "<think>t</think><answer>x</answer>"),
]


def rows(n: int) -> list[tuple[str, str, str, str]]:
    return [SHAPES[i % len(SHAPES)] for i in range(n)]


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    data = rows(a.rows)
    records = [
        {"completion": c, "ground_truth": g, "task": t, "data_type": d} for t, d, g, c in data
    ]
    want = [r.total for r in unireward.score_batch(records, errors="record")]

    trl_fn = UniRewardFunction(unscored="fallback")
    trl_kwargs = {
        "prompts": [[{"role": "user", "content": "q"}]] * len(data),
        "completions": [[{"role": "assistant", "content": c}] for *_, c in data],
        "solution": [g for _, _, g, _ in data],
        "problem_type": [t for t, *_ in data],
        "data_type": [d for _, d, _, _ in data],
        "log_extra": lambda name, values: None,
        "log_metric": lambda name, value: None,
    }
    easy_inputs = [
        {
            "response": c,
            "response_length": len(c),
            "ground_truth": g,
            "problem_type": t,
            "data_type": d,
            "problem": "q",
            "problem_id": str(i // 8),
        }
        for i, (t, d, g, c) in enumerate(data)
    ]
    cases: dict[str, Callable[[], list[float]]] = {
        "score_batch (baseline)": lambda: [
            r.total for r in unireward.score_batch(records, errors="record")
        ],
        "TRL UniRewardFunction": (
            lambda: trl_fn(**trl_kwargs)  # type: ignore[arg-type, return-value]
        ),
        "EasyR1 compute_score": lambda: [
            s["overall"]  # type: ignore[index]
            for s in easyr1_score(easy_inputs)  # type: ignore[union-attr]
        ],
    }
    try:
        from unireward.integrations import verl as uv
    except ImportError:
        uv = None  # type: ignore[assignment]
    if uv is not None:
        srcs = ["onethinker"] * len(data)
        sols = [c for *_, c in data]
        gts = [g for _, _, g, _ in data]
        infos = [{"problem_type": t, "data_type": d} for t, d, _, _ in data]
        cases["verl compute_score_batch"] = lambda: [
            s["score"] for s in uv.compute_score_batch(srcs, sols, gts, infos)
        ]
        cases["verl compute_score per row"] = lambda: [
            uv.compute_score(s, c, g, i)["score"]
            for s, c, g, i in zip(srcs, sols, gts, infos, strict=True)
        ]

    import logging

    logging.getLogger("unireward.integrations").setLevel(logging.ERROR)  # one warning per call
    for name, fn in cases.items():
        got = fn()
        assert got == want, name
    base = best(cases["score_batch (baseline)"], a.repeat)
    print(f"{a.rows} rows ({len(SHAPES)} shapes, one unscorable), best of {a.repeat}")
    print(f"{'adapter':32s} {'ms':>8s} {'us/row':>8s} {'x baseline':>10s}")
    for name, fn in cases.items():
        t = base if name.startswith("score_batch") else best(fn, a.repeat)
        print(f"{name:32s} {t * 1e3:8.1f} {t / a.rows * 1e6:8.1f} {t / base:10.2f}")


if __name__ == "__main__":
    main()
