"""OCR word error rate: unireward's edit distance (rapidfuzz over word ids) against the
textbook dynamic programme the reference runs, in this process.

Run: python benchmarks/bench_ocr.py
Both sides give the same numbers (checked before timing).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from unireward.tasks.text import word_error_rate


def dp_wer(truth: str, answer: str) -> float:
    ref, hyp = truth.split(), answer.split()
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = prev[j - 1] if r == h else 1 + min(prev[j], cur[j - 1], prev[j - 1])
        prev = cur
    return prev[-1] / max(1, len(ref))


def pairs(n_words: int, count: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(300)] + ["Main", "24", "Figure", "EXIT", "Street"]
    out = []
    for _ in range(count):
        truth = [rng.choice(vocab) for _ in range(n_words)]
        answer = [w if rng.random() > 0.1 else rng.choice(vocab) for w in truth]
        if answer and rng.random() < 0.3:
            del answer[rng.randrange(len(answer))]
        out.append((" ".join(truth), rng.choice(["\n", " ", "\t"]).join(answer)))
    return out


def per_pair(
    fn: Callable[[str, str], float], data: list[tuple[str, str]], repeat: int = 5
) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for t, a in data:
            fn(t, a)
        best = min(best, (time.perf_counter() - start) / len(data))
    return best


def main() -> None:
    print(f"{'answer words':>12}{'DP us':>10}{'ours us':>10}{'speed-up':>10}")
    for words, count in ((8, 2000), (40, 500), (300, 20)):
        data = pairs(words, count)
        assert all(word_error_rate(t, a) == dp_wer(t, a) for t, a in data)
        base, ours = per_pair(dp_wer, data), per_pair(word_error_rate, data)
        print(f"{words:>12}{base * 1e6:>10.1f}{ours * 1e6:>10.1f}{base / ours:>9.1f}x")


if __name__ == "__main__":
    main()
