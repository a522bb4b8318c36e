"""Structured scoring end to end against a straightforward per-item implementation.

Run: python benchmarks/bench_structured.py [--n 100000] [--think short|realistic]

Both sides run in this process, pinned to one core, on the same completions: ``--n``
spatial-grounding and ``--n`` temporal-grounding rollouts (about 3% of answers damaged).
The baseline is what a reward function usually looks like, one item at a time: the
reference regexes for tag normalisation, format check and answer extraction,
``json.loads`` of answer and ground truth, and Python arithmetic. Measured:

* ``score_batch``: the whole ``unireward.score_batch`` (records, completion parsing,
  ground truths, vectorised scoring, results);
* ``parse+many``: the full completion parse (``parse_completion``, which builds the
  normalised text) plus the scorers' ``score_many`` on prepared ground truths, without the
  record handling of the API: the per-item path that ``score_batch`` used to take;
* ``score()``: ``unireward.score`` called once per completion (what a per-sample reward
  hook such as verl's ``compute_score`` does), on the first 20,000;
* ``scoring``: the scorer's batch method ``score_many`` alone (what ``score_batch`` calls)
  on extracted answers,
  against the baseline's own scoring part (``json.loads`` of answer and ground truth and
  the arithmetic).

The think block is ``short`` (one sentence) or ``realistic`` (200-1,500 characters of
reasoning, the length range of typical rollouts).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
from collections.abc import Callable

import unireward
from unireward.completion import parse_completion
from unireward.registry import register_task
from unireward.tasks.base import ScoreOptions, TaskScorer
from unireward.tasks.grounding import SpatialGroundingScorer, TemporalGroundingScorer

NORM = re.compile(r"\s*(<|>|/)\s*")
FMT = re.compile(r"\A\s*<think>.*?</think>\s*<answer>.*?</answer>\s*\Z", re.DOTALL)
ANS = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)
WORDS = (
    "the object appears near left edge frame moves towards centre person holding cup "
    "then second clip shows scene changes around ten seconds later so answer should "
    "cover interval where action happens box encloses region with red car"
).split()


def baseline(rec: dict) -> float:
    """One item, the straightforward way."""
    text = NORM.sub(r"\1", rec["completion"])
    fmt = 1.0 if FMT.fullmatch(text) else 0.0
    m = ANS.search(text)
    ans = m.group(1).strip() if m and m.group(1).strip() else text.strip()
    gt = json.loads(rec["ground_truth"])
    acc = struct = 0.0
    try:
        pred = json.loads(ans)
        if rec["task"] == "temporal grounding":
            p = [float(x) for x in pred["time"]]
            g = [float(x) for x in gt["time"]]
            if len(p) == 2:
                struct = 0.5
                inter = max(0.0, min(p[1], g[1]) - max(p[0], g[0]))
                union = max(p[1], g[1]) - min(p[0], g[0])
                acc = inter / union if union > 1e-12 else 0.0
        else:
            p = [float(x) for x in pred["boxes"]]
            g = [float(x) for x in gt["boxes"]]
            if len(p) == 4:
                struct = 0.5
                ap = max(0.0, p[2] - p[0]) * max(0.0, p[3] - p[1])
                ag = max(0.0, g[2] - g[0]) * max(0.0, g[3] - g[1])
                inter = max(0.0, min(p[2], g[2]) - max(p[0], g[0])) * max(
                    0.0, min(p[3], g[3]) - max(p[1], g[1])
                )
                union = ap + ag - inter
                acc = inter / union if union > 0 else 0.0
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return 0.9 * acc + 0.1 * fmt + (struct if fmt else 0.0)


def baseline_scoring(answer: str, ground_truth: str, task: str) -> tuple[float, float]:
    """The baseline's scoring part alone: accuracy and structure of an extracted answer."""
    gt = json.loads(ground_truth)
    try:
        pred = json.loads(answer)
        key, size = ("time", 2) if task == "temporal grounding" else ("boxes", 4)
        p = [float(x) for x in pred[key]]
        g = [float(x) for x in gt[key]]
        if len(p) != size:
            return 0.0, 0.0
        if size == 2:
            inter = max(0.0, min(p[1], g[1]) - max(p[0], g[0]))
            union = max(p[1], g[1]) - min(p[0], g[0])
            return (inter / union if union > 1e-12 else 0.0), 0.5
        ap = max(0.0, p[2] - p[0]) * max(0.0, p[3] - p[1])
        ag = max(0.0, g[2] - g[0]) * max(0.0, g[3] - g[1])
        inter = max(0.0, min(p[2], g[2]) - max(p[0], g[0])) * max(
            0.0, min(p[3], g[3]) - max(p[1], g[1])
        )
        union = ap + ag - inter
        return (inter / union if union > 0 else 0.0), 0.5
    except (ValueError, KeyError, TypeError, AttributeError):
        return 0.0, 0.0


def think_text(rng: random.Random, mode: str) -> str:
    if mode == "short":
        return "Looking at the frames, the object is here."
    target = rng.randint(200, 1500)
    words: list[str] = []
    size = 0
    while size < target:
        w = rng.choice(WORDS)
        words.append(w)
        size += len(w) + 1
    return " ".join(words) + "."


def make(n: int, task: str, rng: random.Random, mode: str) -> list[dict]:
    out = []
    gts: list[str] = []
    for i in range(n):
        if i % 8 == 0 or not gts:  # 8 rollouts share a prompt and its ground truth
            if task == "temporal grounding":
                s = rng.uniform(0, 100)
                gts.append(json.dumps({"time": [round(s, 1), round(s + rng.uniform(1, 30), 1)]}))
            else:
                x, y = rng.uniform(0, 600), rng.uniform(0, 600)
                gts.append(
                    json.dumps(
                        {
                            "boxes": [
                                round(x),
                                round(y),
                                round(x + rng.uniform(20, 400)),
                                round(y + rng.uniform(20, 400)),
                            ]
                        }
                    )
                )
        gt = json.loads(gts[-1])
        if task == "temporal grounding":
            ans = json.dumps({"time": [round(v + rng.gauss(0, 3), 1) for v in gt["time"]]})
        else:
            ans = json.dumps({"boxes": [round(v + rng.gauss(0, 15)) for v in gt["boxes"]]})
        if rng.random() < 0.03:
            ans = ans.replace('"', "'")
        comp = f"<think>{think_text(rng, mode)}</think>\n<answer>{ans}</answer>"
        out.append({"completion": comp, "ground_truth": gts[-1], "task": task})
    return out


def timed(fn: Callable[[], object], rounds: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--think", choices=["short", "realistic"], default="realistic")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    scorers = {
        "temporal grounding": TemporalGroundingScorer(),
        "spatial grounding": SpatialGroundingScorer(),
    }
    for s in scorers.values():
        register_task(s, overwrite=True)  # these scorers, whatever the registry held
    rng = random.Random(0)
    opts = ScoreOptions()
    print(
        f"one core, best of {args.rounds} rounds, {args.n:,} completions per task, "
        f"think={args.think}"
    )
    print(
        f"{'task':20s} {'baseline/s':>11s} {'score_batch/s':>14s} {'ratio':>6s} "
        f"{'parse+many/s':>13s} {'ratio':>6s} {'score()/s':>10s} {'ratio':>6s} | "
        f"{'base scoring/s':>14s} {'score_many/s':>13s} {'ratio':>6s}"
    )
    for task, scorer in scorers.items():
        print(measure(task, scorer, make(args.n, task, rng, args.think), args.rounds, opts))


def measure(
    task: str, scorer: TaskScorer, recs: list[dict], rounds: int, opts: ScoreOptions
) -> str:
    """One table row: throughput of each path and its ratio to the baseline."""
    n = len(recs)
    t_base, base = timed(lambda: [baseline(r) for r in recs], rounds)
    t_api, res = timed(lambda: unireward.score_batch(recs), rounds)
    totals = [r.total for r in res]  # type: ignore[union-attr]
    assert (
        max(abs(a - b) for a, b in zip(totals, base, strict=True))  # type: ignore[call-overload]
        < 1e-9
    )
    truths = [scorer.prepare_ground_truth(r["ground_truth"], None) for r in recs]

    def own() -> list[float]:
        parsed = [parse_completion(r["completion"]) for r in recs]
        outs = scorer.score_many([p.answer for p in parsed], truths, [None] * n, opts)
        return [
            0.9 * o.accuracy + 0.1 * p.format + (o.structure if p.format else 0.0)
            for p, o in zip(parsed, outs, strict=True)
        ]

    t_own, _ = timed(own, rounds)
    few = recs[:20_000]
    t_base_few, _ = timed(lambda: [baseline(r) for r in few], rounds)
    t_one, ones = timed(
        lambda: [unireward.score(r["completion"], r["ground_truth"], r["task"]) for r in few],
        rounds,
    )
    assert [r.total for r in ones] == totals[: len(few)]  # type: ignore[attr-defined]
    answers = [parse_completion(r["completion"]).answer for r in recs]
    gts = [r["ground_truth"] for r in recs]
    t_bs, _ = timed(
        lambda: [baseline_scoring(a, g, task) for a, g in zip(answers, gts, strict=True)], rounds
    )
    t_many, _ = timed(lambda: scorer.score_many(answers, truths, [None] * n, opts), rounds)
    return (
        f"{task:20s} {n / t_base:11,.0f} {n / t_api:14,.0f} {t_base / t_api:5.1f}x "
        f"{n / t_own:13,.0f} {t_base / t_own:5.1f}x {len(few) / t_one:10,.0f} "
        f"{t_base_few / t_one:5.1f}x | {n / t_bs:14,.0f} {n / t_many:13,.0f} "
        f"{t_bs / t_many:5.1f}x"
    )


if __name__ == "__main__":
    main()
