"""Cost of the default ``check_reward`` run per task.

Run: python benchmarks/bench_checks.py [task ...]
For ``unireward.score`` on every task (and video segmentation), prints the wall time, the
CPU time of this process, the number of reward calls, and the time spent inside the reward
function (the baseline, measured in the same run): the ratio is the checker's own overhead
(hypothesis' generation and shrinking, building inputs, comparing). Then how the cost
scales with ``max_examples`` on one task. Math's symbolic checks run in worker processes:
their CPU time is shown separately (needs ``psutil``; "n/a" without it).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import unireward
from unireward.testing import check_reward

TASKS = [
    "temporal grounding",
    "spatial grounding",
    "tracking",
    "spatial-temporal grounding",
    "segmentation",
    "segmentation/video",
    "multiple choice",
    "numerical",
    "regression",
    "math",
    "ocr",
    "open-ended",
    "captioning",
]


class Timed:
    """unireward.score, counting its calls and the time spent in it."""

    __name__ = "score"

    def __init__(self) -> None:
        self.calls, self.seconds = 0, 0.0

    def __call__(self, completion: str, truth: Any, task: str, data_type: str | None = None) -> Any:
        start = time.perf_counter()
        try:
            return unireward.score(completion, truth, task, data_type=data_type)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


def children_cpu() -> float | None:
    """CPU seconds of this process' live child processes (the math workers)."""
    try:
        import psutil
    except ImportError:
        return None
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def run(task: str, max_examples: int = 60) -> tuple[float, float, Timed, bool, str]:
    name, _, data_type = task.partition("/")
    fn = Timed()
    before = children_cpu()
    wall, cpu = time.perf_counter(), time.process_time()
    report = check_reward(fn, name, data_type=data_type or None, max_examples=max_examples)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = children_cpu()
    workers = "n/a" if before is None or after is None else f"{max(0.0, after - before):.1f} s"
    return wall, cpu, fn, report.ok, workers


def main() -> None:
    tasks = sys.argv[1:] or TASKS
    unireward.score("<think>x</think><answer>1</answer>", "1", "math")  # start the math worker
    print(
        "| task | wall | CPU (this process) | CPU (workers) | reward calls | in the reward | "
        "checker / reward time | ok |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for task in tasks:
        wall, cpu, fn, ok, workers = run(task)
        print(
            f"| {task} | {wall:.1f} s | {cpu:.1f} s | {workers} | {fn.calls:,} "
            f"| {fn.seconds:.2f} s | {wall / fn.seconds:.1f}x | {ok} |",
            flush=True,
        )
    task = "spatial grounding"
    print(f"\n| `max_examples` ({task}) | wall | CPU | reward calls | CPU / CPU at 60 |")
    print("|---|---|---|---|---|")
    base = run(task, 60)[1]
    for n in (15, 30, 60, 120):
        wall, cpu, fn, _, _ = run(task, n)
        print(
            f"| {n} | {wall:.1f} s | {cpu:.1f} s | {fn.calls:,} | {cpu / base:.2f}x |", flush=True
        )


if __name__ == "__main__":
    main()
