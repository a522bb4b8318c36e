"""``unireward score`` on a big mixed dump, and ``unireward serve`` under load.

Run: python benchmarks/bench_cli.py [--rows 1000000] [--naive-rows 50000] [--parts score,rows,serve]

1. Scoring: a mixed dump (the example rows, symbolic math left out: it has its own benchmark)
   scored by ``unireward score`` with 1 and 2 workers, beside a naive loop in this process
   that reads the same file and calls ``unireward.score`` once per row. Each CLI run is
   started from a small wrapper that reports the peak RSS of its children (``ru_maxrss``):
   the largest single process (main or worker), to compare with the dump's size. A run on a
   tenth of the rows shows that the peak does not grow with the input.
2. Row handling: the checks every input line and output row goes through (the line reader
   that keeps invalid UTF-8 and odd blank lines, ``parse_row`` with its UTF-8, nesting and
   lone-surrogate checks, ``dump_row`` writing standard JSON), beside the plain baseline in
   the same process (text-mode line iteration, ``json.loads``, ``json.dumps``).
3. Serving: ``unireward serve`` in a subprocess on 127.0.0.1; 200 requests of 16 records,
   8 in flight, from this process; beside ``score_batch`` on the same records in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import unireward

ROOT = Path(__file__).resolve().parents[1]
WRAPPER = (
    "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def make_dump(path: Path, rows: int) -> None:
    base = [
        x
        for x in (ROOT / "examples" / "rollouts.jsonl").read_text().splitlines()
        if '"math"' not in x
    ]
    with path.open("w") as fh:
        for i in range(rows):
            fh.write(base[i % len(base)] + "\n")


def naive(path: Path, rows: int) -> float:
    """Rows per second of a per-row loop over the first ``rows`` rows."""
    t = time.perf_counter()
    with path.open() as fh:
        for _, line in zip(range(rows), fh, strict=False):
            r = json.loads(line)
            res = unireward.score(
                r["completion"], r["solution"], r["problem_type"], data_type=r["data_type"]
            )
            json.dumps({**r, **res.to_dict()})
    return rows / (time.perf_counter() - t)


def cli_run(path: Path, workers: int, rows: int) -> tuple[float, float]:
    """Rows per second and peak RSS (MB) of ``unireward score``."""
    out = path.with_suffix(f".w{workers}.out.jsonl")
    t = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            WRAPPER,
            sys.executable,
            "-m",
            "unireward.cli",
            "score",
            str(path),
            "-o",
            str(out),
            "--workers",
            str(workers),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - t
    out.unlink()
    return rows / elapsed, int(proc.stdout.split()[-1]) / 1024


def _best(fn: Any, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def rows_bench(path: Path, rows: int) -> dict[str, float]:
    """Seconds per row of the checked paths and of their plain baselines (best of 5)."""
    from unireward.cli._io import InputReader, dump_row, parse_row

    lines = []
    with path.open(encoding="utf-8") as fh:
        for _, line in zip(range(rows), fh, strict=False):
            lines.append(line.rstrip("\n"))
    parsed = [json.loads(x) for x in lines]
    sample = path.with_suffix(".sample.jsonl")
    sample.write_text("".join(x + "\n" for x in lines), encoding="utf-8")

    def plain_read() -> None:
        with sample.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    pass

    def checked_read() -> None:
        for _ in InputReader(sample):
            pass

    out = {
        "read_plain": _best(plain_read),
        "read_checked": _best(checked_read),
        "parse_plain": _best(lambda: [json.loads(x) for x in lines]),
        "parse_checked": _best(lambda: [parse_row(x) for x in lines]),
        "dump_plain": _best(lambda: [json.dumps(r, ensure_ascii=False) for r in parsed]),
        "dump_checked": _best(lambda: [dump_row(r) for r in parsed]),
    }
    sample.unlink()
    return {k: v / len(lines) for k, v in out.items()}


def serve_bench(requests: int = 200, concurrency: int = 8, batch: int = 16) -> dict[str, float]:
    import httpx

    rows = [
        json.loads(x)
        for x in (ROOT / "examples" / "rollouts.jsonl").read_text().splitlines()
        if '"math"' not in x
    ]
    batches = [rows[(i * batch) % len(rows) :][:batch] or rows[:batch] for i in range(requests)]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "unireward.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # "unireward serving on ..."
        url = f"http://127.0.0.1:{port}"

        limits = httpx.Limits(max_connections=concurrency)
        with httpx.Client(
            trust_env=False, timeout=60, limits=limits
        ) as client:  # one pool, kept alive

            def one(recs: list[dict]) -> bool:
                r = client.post(f"{url}/score", json={"records": recs})
                return r.status_code == 200 and len(r.json()["results"]) == len(recs)

            t = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as ex:
                ok = list(ex.map(one, batches))
            served = time.perf_counter() - t
    finally:
        server.terminate()
        server.wait()
    t = time.perf_counter()
    for recs in batches:
        unireward.score_batch(recs, errors="record")
    local = time.perf_counter() - t
    n = sum(len(b) for b in batches)
    return {
        "errors": ok.count(False),
        "requests_per_s": requests / served,
        "records_per_s": n / served,
        "in_process_records_per_s": n / local,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--naive-rows", type=int, default=50_000, help="rows for the (slow) naive loop")
    ap.add_argument(
        "--parts", default="score,rows,serve", help="which parts to run (comma-separated)"
    )
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as d:
        big, small = Path(d) / "dump.jsonl", Path(d) / "tenth.jsonl"
        make_dump(big, args.rows)
        make_dump(small, max(args.rows // 10, 1))
        print(f"dump: {args.rows:,} rows, {big.stat().st_size / 2**20:,.0f} MB")
        if "score" in parts:
            rate_naive = naive(big, min(args.naive_rows, args.rows))
            print("| run | rows/s | ratio to naive | peak RSS (largest process) |")
            print("|---|---|---|---|")
            print(
                "| naive loop: `unireward.score` per row "
                f"({min(args.naive_rows, args.rows):,} rows) | {rate_naive:,.0f} | 1.0x | |"
            )
            for w in (1, 2):
                rate, rss = cli_run(big, w, args.rows)
                print(
                    f"| `unireward score --workers {w}` ({args.rows:,} rows) | {rate:,.0f} "
                    f"| {rate / rate_naive:.1f}x | {rss:,.0f} MB |"
                )
            rate, rss = cli_run(small, 2, max(args.rows // 10, 1))
            print(
                f"| `unireward score --workers 2` ({max(args.rows // 10, 1):,} rows) | {rate:,.0f} "
                f"| {rate / rate_naive:.1f}x | {rss:,.0f} MB |"
            )
        if "rows" in parts:
            r = rows_bench(big, min(args.rows, 100_000))
            print()
            print("| per row | plain baseline | checked | ratio |")
            print("|---|---|---|---|")
            for name, what in (
                ("read", "read a line"),
                ("parse", "parse a row"),
                ("dump", "write a row"),
            ):
                plain, checked = r[f"{name}_plain"], r[f"{name}_checked"]
                print(
                    f"| {what} | {plain * 1e6:.2f} us | {checked * 1e6:.2f} us "
                    f"| {checked / plain:.2f}x |"
                )
    if "serve" not in parts:
        return
    s = serve_bench()
    print()
    print("| `unireward serve`: 200 requests x 16 records, 8 in flight | |")
    print("|---|---|")
    print(f"| errors | {s['errors']} |")
    print(f"| requests/s | {s['requests_per_s']:,.0f} |")
    print(f"| records/s over HTTP | {s['records_per_s']:,.0f} |")
    print(
        f"| records/s, `score_batch` in process (baseline) | {s['in_process_records_per_s']:,.0f} "
        f"({s['records_per_s'] / s['in_process_records_per_s']:.2f}x) |"
    )


if __name__ == "__main__":
    main()
