"""Batch scoring of structured answers against a straightforward per-item implementation.

Run: python benchmarks/bench_batch.py [--n 100000]
Both sides run in this process on one core. The baseline is what a reward function usually
looks like: the reference regexes for tags and format, ``json.loads`` of answer and ground
truth, and Python arithmetic, one item at a time.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time

import numpy as np

import unireward
from unireward.geometry import box_iou

NORM = re.compile(r"\s*(<|>|/)\s*")
FMT = re.compile(r"\A\s*<think>.*?</think>\s*<answer>.*?</answer>\s*\Z", re.DOTALL)
ANS = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)


def _iou1d(p, g):
    inter = max(0.0, min(p[1], g[1]) - max(p[0], g[0]))
    union = max(p[1], g[1]) - min(p[0], g[0])
    return inter / union if union > 1e-12 else 0.0


def _box(p, g):
    ap = max(0.0, p[2] - p[0]) * max(0.0, p[3] - p[1])
    ag = max(0.0, g[2] - g[0]) * max(0.0, g[3] - g[1])
    iw = max(0.0, min(p[2], g[2]) - max(p[0], g[0]))
    ih = max(0.0, min(p[3], g[3]) - max(p[1], g[1]))
    inter = iw * ih
    union = ap + ag - inter
    return inter / union if union > 0 else 0.0


def naive(rec: dict) -> float:
    text = NORM.sub(r"\1", rec["completion"])
    fmt = 1.0 if FMT.fullmatch(text) else 0.0
    m = ANS.search(text)
    ans = m.group(1).strip() if m else text.strip()
    gt = json.loads(rec["ground_truth"])
    acc = struct = 0.0
    try:
        pred = json.loads(ans)
        if rec["task"] == "temporal grounding":
            t = [float(x) for x in pred["time"]]
            if len(t) == 2:
                struct = 0.5
                acc = _iou1d(t, [float(x) for x in gt["time"]])
        else:
            b = [float(x) for x in pred["boxes"]]
            if len(b) == 4:
                struct = 0.5
                acc = _box(b, [float(x) for x in gt["boxes"]])
    except (ValueError, KeyError, TypeError):
        pass
    return 0.9 * acc + 0.1 * fmt + (struct if fmt else 0.0)


def make(n: int, task: str, rng: random.Random) -> list[dict]:
    out = []
    for _ in range(n):
        if task == "temporal grounding":
            s = rng.uniform(0, 100)
            gt = {"time": [round(s, 1), round(s + rng.uniform(1, 30), 1)]}
            p = [round(v + rng.gauss(0, 3), 1) for v in gt["time"]]
            ans = json.dumps({"time": p})
        else:
            x, y = rng.uniform(0, 600), rng.uniform(0, 600)
            gt = {"boxes": [round(x), round(y), round(x + rng.uniform(20, 400)), round(y + rng.uniform(20, 400))]}
            ans = json.dumps({"boxes": [round(v + rng.gauss(0, 15)) for v in gt["boxes"]]})
        comp = f"<think>Looking at the frames, the event/object is here.</think>\n<answer>{ans}</answer>"
        out.append({"completion": comp, "ground_truth": json.dumps(gt), "task": task})
    return out


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    n = ap.parse_args().n
    rng = random.Random(0)
    print("| workload | naive per-item | unireward.score_batch | ratio |")
    print("|---|---|---|---|")
    for task in ("spatial grounding", "temporal grounding"):
        recs = make(n, task, rng)
        t_naive, ref = timed(lambda rs: [naive(r) for r in rs], recs)
        t_ours, res = timed(unireward.score_batch, recs)
        assert np.allclose(ref, [r.total for r in res]), "results differ"
        print(f"| {n:,} {task} | {n / t_naive:,.0f} items/s | {n / t_ours:,.0f} items/s | {t_naive / t_ours:.1f}x |")
    m = 2_000_000
    a = np.random.default_rng(0).uniform(0, 1000, (m, 4))
    b = np.random.default_rng(1).uniform(0, 1000, (m, 4))
    t_vec, _ = timed(box_iou, a, b)
    k = 200_000
    al, bl = a[:k].tolist(), b[:k].tolist()
    t_loop, _ = timed(lambda: [_box(p, g) for p, g in zip(al, bl, strict=True)])
    print(f"| box IoU kernel | {k / t_loop:,.0f} pairs/s (Python loop) | {m / t_vec:,.0f} pairs/s | {(m / t_vec) / (k / t_loop):.0f}x |")


if __name__ == "__main__":
    main()
