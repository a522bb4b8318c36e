"""``unireward report`` on a big scored dump: time and peak memory.

Run: python benchmarks/bench_report.py [--rows 1000000] [--small 100000]

A scored dump is made from the example rows (scored once with ``unireward.score_batch``),
repeated with a ``step`` column (2,400 rows per step) and a ``problem_id`` made unique per
step, so every panel has work to do: prompt groups and the GRPO / EMA-GRPO replay per step,
trends, lengths, all grounding benchmark families, examples.

1. Baseline in this process: reading the same file row by row (``read_rows``: the JSON
   parsing the report needs anyway), beside building the report's data in this process:
   the ratio is what the report adds to reading.
2. ``unireward report`` as a subprocess on the small and on the full dump, started from a
   wrapper that prints the child's peak RSS (``ru_maxrss``). Bounded memory means the two
   peaks are about equal although the dumps differ tenfold.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import unireward
from unireward.cli._io import read_rows
from unireward.report import build_report

ROOT = Path(__file__).resolve().parents[1]
WRAPPER = (
    "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)"
)
STEP_ROWS = 2400


def make_dump(path: Path, rows: int) -> None:
    base = [json.loads(x) for x in (ROOT / "examples" / "rollouts.jsonl").read_text().splitlines()]
    results = unireward.score_batch(
        [
            {
                "completion": r["completion"],
                "ground_truth": r["solution"],
                "task": r["problem_type"],
                "data_type": r["data_type"],
            }
            for r in base
        ]
    )
    scored = [{**r, **res.to_dict()} for r, res in zip(base, results, strict=True)]
    with path.open("w") as fh:
        for i in range(rows):
            r = scored[i % len(scored)]
            step = i // STEP_ROWS
            fh.write(
                json.dumps(
                    {
                        **r,
                        "problem_id": f"{r['problem_id']}-{step}-{i % STEP_ROWS // len(scored)}",
                        "step": step,
                    }
                )
                + "\n"
            )


def read_only(path: Path) -> float:
    t = time.perf_counter()
    n = sum(1 for _ in read_rows(path))
    return n / (time.perf_counter() - t)


def in_process(path: Path) -> float:
    t = time.perf_counter()
    data = build_report((row for _, row, _ in read_rows(path) if row is not None))
    data.summary()
    return data.rows_read / (time.perf_counter() - t)


def cli_report(path: Path) -> tuple[float, float, int]:
    """Seconds, peak RSS (MB) and page size (bytes) of ``unireward report``."""
    out = path.with_suffix(".html")
    t = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            WRAPPER,
            sys.executable,
            "-m",
            "unireward.cli",
            "report",
            str(path),
            "-o",
            str(out),
            "--summary-json",
            str(path.with_suffix(".json")),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - t
    return elapsed, int(proc.stdout.strip().splitlines()[-1]) / 1024, out.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small, big = Path(tmp) / "small.jsonl", Path(tmp) / "big.jsonl"
        make_dump(small, args.small)
        make_dump(big, args.rows)
        print(
            f"dumps: {args.small:,} rows ({small.stat().st_size / 1e6:.0f} MB), "
            f"{args.rows:,} rows ({big.stat().st_size / 1e6:.0f} MB)"
        )
        base = read_only(small)
        mine = in_process(small)
        print(
            f"in process, {args.small:,} rows: reading alone {base:,.0f} rows/s; "
            f"reading + report data {mine:,.0f} rows/s (ratio {mine / base:.2f})"
        )
        for path, n in ((small, args.small), (big, args.rows)):
            secs, rss, size = cli_report(path)
            print(
                f"unireward report, {n:,} rows: {secs:.1f} s ({n / secs:,.0f} rows/s), "
                f"peak RSS {rss:.0f} MB, page {size / 1e6:.2f} MB"
            )
        os.sync()


if __name__ == "__main__":
    main()
