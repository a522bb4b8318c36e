"""Completion parsing: unireward's linear scans against the reference regular expressions.

Run: python benchmarks/bench_parsing.py
Prints per-call times and ratios measured in this process. The reference regexes are the
baseline; on hostile inputs they are run on smaller sizes only (they are quadratic).
"""

from __future__ import annotations

import re
import time

from unireward.completion import parse_completion

REF_NORMALIZE = re.compile(r"\s*(<|>|/)\s*")
REF_FORMAT = re.compile(r"\A\s*<think>.*?</think>\s*<answer>.*?</answer>\s*\Z", re.DOTALL)
REF_ANSWER = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)


def reference_parse(s: str) -> tuple[float, str]:
    norm = REF_NORMALIZE.sub(r"\1", s)
    fmt = 1.0 if REF_FORMAT.fullmatch(norm) else 0.0
    m = REF_ANSWER.search(norm)
    ans = m.group(1).strip() if m else ""
    return fmt, ans or norm.strip()


def per_call(fn, arg, min_time: float = 0.3) -> float:
    n, start = 0, time.perf_counter()
    while True:
        fn(arg)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / n


def main() -> None:
    realistic = (
        "<think>The video shows a man in a kitchen. He picks up a pot, fills it with water "
        "and puts pasta in it. So the answer is C.</think>\n<answer>C</answer>"
    )
    struct = '<think>locate the dog</think><answer>{"boxes": [35, 227, 437, 932]}</answer>'
    print("| input | unireward | reference regexes | ratio |")
    print("|---|---|---|---|")
    for name, s in [("realistic MCQ (170 chars)", realistic), ("grounding JSON", struct)]:
        ours, ref = per_call(parse_completion, s), per_call(reference_parse, s)
        print(f"| {name} | {ours * 1e6:.2f} us | {ref * 1e6:.2f} us | {ref / ours:.1f}x |")
    hostile = {
        "unclosed <answer>, 4 KB": "<think>x</think><answer>" + "a <b " * 1000,
        "many tags, 40 KB": "<think>a</think> " * 2_500,
        "100,000 nested <think>": "<think>" * 100_000 + "</think>" * 1000,
    }
    for name, s in hostile.items():
        ours, ref = per_call(parse_completion, s, 0.2), per_call(reference_parse, s, 0.2)
        print(f"| {name} | {ours * 1e3:.3f} ms | {ref * 1e3:.3f} ms | {ref / ours:.0f}x |")
    big = {
        "10 MB whitespace": "<think>" + " " * 10_000_000,
        "10 MB unclosed answer": "<think>x</think><answer>" + "ab <c/ " * 1_400_000,
        "100,000 nested tags (1.5 MB)": "<think>" * 100_000 + "</think>" * 100_000 + "<answer>x",
    }
    for name, s in big.items():
        t0 = time.perf_counter()
        parse_completion(s)
        print(f"| {name} | {(time.perf_counter() - t0) * 1e3:.0f} ms | not run (quadratic) | |")


if __name__ == "__main__":
    main()
