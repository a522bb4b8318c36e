"""``unireward score`` on a big mixed dump: 1 and 2 workers beside a naive per-row loop.

Run: python benchmarks/bench_cli.py [--rows 1000000]
The naive baseline reads the same file and calls ``unireward.score`` once per row in this
process. Peak memory of the CLI runs is their max RSS (children included): streaming keeps
it flat whatever the dump's size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import unireward

ROOT = Path(__file__).resolve().parents[1]


def make_dump(path: Path, rows: int) -> None:
    base = [json.loads(x) for x in (ROOT / "examples" / "rollouts.jsonl").read_text().splitlines()
            if '"math"' not in x]  # symbolic math is timed in bench_math
    with path.open("w") as fh:
        for i in range(rows):
            fh.write(json.dumps(base[i % len(base)]) + "\n")


def naive(path: Path) -> float:
    t = time.perf_counter()
    with path.open() as fh:
        for line in fh:
            r = json.loads(line)
            unireward.score(r["completion"], r["solution"], r["problem_type"], data_type=r["data_type"])
    return time.perf_counter() - t


def cli(path: Path, workers: int) -> tuple[float, float]:
    out = path.with_suffix(f".w{workers}.jsonl")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "unireward.cli", "score", str(path), "-o", str(out),
                    "--workers", str(workers), "--quiet"], check=False)
    elapsed = time.perf_counter() - t
    rss = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return elapsed, rss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--naive-rows", type=int, default=50_000, help="rows for the (slow) naive loop")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        big, small = Path(d) / "dump.jsonl", Path(d) / "small.jsonl"
        make_dump(big, args.rows)
        make_dump(small, args.naive_rows)
        t_naive = naive(small)
        rate_naive = args.naive_rows / t_naive
        print("| run | rows/s | ratio to naive | peak RSS |")
        print("|---|---|---|---|")
        print(f"| naive loop (unireward.score per row, {args.naive_rows:,} rows) | {rate_naive:,.0f} | 1.0x | |")
        for w in (1, 2):
            t, rss = cli(big, w)
            print(f"| unireward score --workers {w} ({args.rows:,} rows) | {args.rows / t:,.0f} | {args.rows / t / rate_naive:.1f}x | {rss:,.0f} MB |")


if __name__ == "__main__":
    main()
