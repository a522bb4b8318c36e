"""Reward-model client benchmarks, against the test server on 127.0.0.1 in a subprocess.

1. Client overhead per sample at batch 64: ``PolarClient.score_pairs`` (encoding, JSON, retry
   bookkeeping, response validation) against a bare ``httpx.Client.post`` of the same bytes
   to the same server on the same kind of pooled connection (the baseline), in this process.
   Target: under 1 ms per sample.
2. Concurrency: ``AsyncPolarClient`` with ``max_concurrency=N`` against a server that sleeps
   ``latency`` per request: N concurrent batches should take about 1x the latency, against
   N x for ``max_concurrency=1``.

Run: ``python benchmarks/bench_remote.py [--rounds 5] [--batches 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from unireward.remote import AsyncPolarClient, PolarClient, PolarEncoder

SERVER = Path(__file__).resolve().parents[1] / "tests" / "remote" / "polar_server.py"
BATCH = 64


@contextmanager
def server(latency: float = 0.0) -> Iterator[str]:
    """Start the test server in a subprocess and yield its URL."""
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--latency", str(latency)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            raise RuntimeError(f"the test server did not start: {line!r}")
        yield f"http://127.0.0.1:{line[1]}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def make_samples(n: int) -> tuple[list[str], list[str], list[str]]:
    """Realistic open-ended triples: a ~200-char question, ~300-char answers."""
    prompts = [
        f"Question {i}: describe what happens in the video, step by step. " * 3 for i in range(n)
    ]
    refs = [
        f"Reference {i}: a man walks into a kitchen and cooks pasta with tomatoes. " * 4
        for i in range(n)
    ]
    outs = [
        f"Answer {i}: someone prepares a meal; he boils water and adds the pasta. " * 4
        for i in range(n)
    ]
    return prompts, refs, outs


def bench_overhead(url: str, rounds: int, batches: int) -> dict[str, float]:
    n = BATCH * batches
    prompts, refs, outs = make_samples(n)
    texts = PolarEncoder().encode_batch(prompts, refs, outs)
    bodies = [
        json.dumps({"model": "internlm/POLAR-7B", "input": texts[i : i + BATCH]}).encode()
        for i in range(0, n, BATCH)
    ]
    client_times, base_times, encode_times = [], [], []
    with (
        PolarClient(base_url=url, batch_size=BATCH) as rm,
        httpx.Client(trust_env=False, timeout=30.0) as raw,
    ):
        rm.score_pairs(prompts[:BATCH], refs[:BATCH], outs[:BATCH])  # warm the connections
        raw.post(url + "/pooling", content=bodies[0], headers={"Content-Type": "application/json"})
        for _ in range(rounds):
            t0 = time.perf_counter()
            for body in bodies:
                raw.post(
                    url + "/pooling", content=body, headers={"Content-Type": "application/json"}
                ).json()
            base_times.append((time.perf_counter() - t0) / n)
            t0 = time.perf_counter()
            scores = rm.score_pairs(prompts, refs, outs)
            client_times.append((time.perf_counter() - t0) / n)
            assert len(scores) == n
            t0 = time.perf_counter()
            PolarEncoder().encode_batch(prompts, refs, outs)
            encode_times.append((time.perf_counter() - t0) / n)
    client_ms = statistics.median(client_times) * 1e3
    base_ms = statistics.median(base_times) * 1e3
    return {
        "samples": n,
        "client_ms_per_sample": client_ms,
        "baseline_ms_per_sample": base_ms,
        "overhead_ms_per_sample": client_ms - base_ms,
        "encode_ms_per_sample": statistics.median(encode_times) * 1e3,
        "ratio_client_over_baseline": client_ms / base_ms,
    }


def bench_concurrency(url: str, latency: float, n_batches: int) -> dict[str, float]:
    prompts, refs, outs = make_samples(BATCH * n_batches)

    async def run(limit: int) -> float:
        async with AsyncPolarClient(base_url=url, batch_size=BATCH, max_concurrency=limit) as rm:
            await rm.score_pairs(prompts[:BATCH], refs[:BATCH], outs[:BATCH])  # warm up
            t0 = time.perf_counter()
            scores = await rm.score_pairs(prompts, refs, outs)
            assert len(scores) == len(prompts)
            return time.perf_counter() - t0

    concurrent = asyncio.run(run(n_batches))
    sequential = asyncio.run(run(1))
    return {
        "batches": n_batches,
        "latency_s": latency,
        "concurrent_s": concurrent,
        "concurrent_in_latencies": concurrent / latency,
        "sequential_s": sequential,
        "sequential_in_latencies": sequential / latency,
        "speedup": sequential / concurrent,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    with server() as url:
        overhead = bench_overhead(url, args.rounds, args.batches)
    with server(latency=args.latency) as url:
        conc = bench_concurrency(url, args.latency, args.in_flight)
    if args.json:
        print(json.dumps({"overhead": overhead, "concurrency": conc}, indent=2))
        return
    print(
        f"Client overhead at batch {BATCH} ({overhead['samples']} samples, median of "
        f"{args.rounds} rounds)"
    )
    print(f"  PolarClient.score_pairs : {overhead['client_ms_per_sample']:.4f} ms/sample")
    print(f"  bare httpx post (base)  : {overhead['baseline_ms_per_sample']:.4f} ms/sample")
    print(
        f"  overhead                : {overhead['overhead_ms_per_sample']:.4f} ms/sample "
        f"(ratio {overhead['ratio_client_over_baseline']:.2f}x; target < 1 ms)"
    )
    print(f"  of which pair encoding  : {overhead['encode_ms_per_sample']:.4f} ms/sample")
    print(f"Async in flight: {conc['batches']} batches, server latency {conc['latency_s']} s")
    print(
        f"  max_concurrency={conc['batches']:<3}: {conc['concurrent_s']:.3f} s "
        f"({conc['concurrent_in_latencies']:.2f} x latency)"
    )
    print(
        f"  max_concurrency=1  : {conc['sequential_s']:.3f} s "
        f"({conc['sequential_in_latencies']:.2f} x latency), speedup "
        f"{conc['speedup']:.1f}x"
    )


if __name__ == "__main__":
    main()
