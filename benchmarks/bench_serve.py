"""Reward-server benchmarks: ``unireward serve`` in a subprocess on 127.0.0.1.

1. Requests/s and p50/p99 latency at 1, 8 and 64 concurrent clients (each on its own
   kept-alive connection, one request at a time), with 1 and 64 records per request, and the
   errors seen (anything but a 200, or a broken connection). The baseline, in this process:
   ``score_batch`` on the same records without HTTP; the ratio says what share of the
   in-process record rate the server delivers.
2. Slowloris: 300 connections sending their headers one byte every 0.5 s, while 8 clients
   send 1-record requests; throughput against the same run without them, and how long the
   slow connections survived (``--header-timeout``, 10 s by default).
3. Peak memory of the server (VmHWM) after each phase.

The load generator is a minimal asyncio HTTP/1.1 client (prebuilt request bytes), so that
the client spends as little of the two cores as possible.

Run: ``python benchmarks/bench_serve.py [--seconds 4]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from unireward import score_batch

ROOT = Path(__file__).resolve().parents[1]


def records(n: int) -> list[dict]:
    """A realistic mix: choice, numbers, boxes, intervals, OCR, fast-path math."""
    kinds = [
        ("<think>the third option</think><answer>C</answer>", "C", "multiple choice"),
        ("<think>count them</think><answer>3.14</answer>", "3.14", "numerical"),
        (
            '<think>left dog</think><answer>{"boxes": [35, 227, 437, 932]}</answer>',
            '{"boxes": [40, 230, 430, 930]}',
            "spatial grounding",
        ),
        (
            '<think>when</think><answer>{"time": [12.5, 20.0]}</answer>',
            '{"time": [11.0, 19.5]}',
            "temporal grounding",
        ),
        (
            "<think>read it</think><answer>the quick brown fox</answer>",
            "the quick brown fox jumps",
            "ocr",
        ),
        ("<think>halve it</think><answer>\\frac{3}{4}</answer>", "0.75", "math"),
    ]
    out = []
    for i in range(n):
        c, g, t = kinds[i % len(kinds)]
        out.append({"completion": c, "ground_truth": g, "task": t})
    return out


def start_server(*args: str) -> tuple[subprocess.Popen[str], str, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "unireward.cli", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    url = line.split("serving on ", 1)[1].split()[0]
    host, port = url.rsplit("/", 1)[1].rsplit(":", 1)
    return proc, host, int(port)


def vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _read_reply(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def _client(host: str, port: int, request: bytes, until: float, lat: list[float]) -> int:
    errors = 0
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return 1
    try:
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            writer.write(request)
            try:
                status = await _read_reply(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            lat.append(time.perf_counter() - t0)
            errors += status != 200
    finally:
        writer.close()
    return errors


async def load(
    host: str, port: int, clients: int, n_records: int, seconds: float
) -> dict[str, float]:
    body = json.dumps({"records": records(n_records)}).encode()
    request = (
        f"POST /score HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    lat: list[float] = []
    until = time.perf_counter() + seconds
    t0 = time.perf_counter()
    errors = sum(
        await asyncio.gather(*(_client(host, port, request, until, lat) for _ in range(clients)))
    )
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "requests_per_s": len(lat) / wall,
        "records_per_s": len(lat) * n_records / wall,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[int(0.99 * (len(lat) - 1))],
        "errors": errors,
        "requests": len(lat),
    }


async def slowloris(host: str, port: int, n: int, seconds: float) -> dict[str, float]:
    """``n`` connections trickling headers; how long each lived (capped at ``seconds``)."""
    start = time.perf_counter()
    lived: list[float] = []

    async def one() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        head = b"POST /score HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 1000
        try:
            for k in range(len(head)):
                if time.perf_counter() - start > seconds:
                    break
                writer.write(head[k : k + 1])
                try:
                    data = await asyncio.wait_for(reader.read(4096), 0.5)
                except asyncio.TimeoutError:
                    continue
                if not data or data.startswith(b"HTTP/1.1 408"):
                    break
        except ConnectionError:
            pass
        lived.append(time.perf_counter() - start)
        writer.close()

    await asyncio.gather(*(one() for _ in range(n)))
    cut = [t for t in lived if t < seconds]
    return {"connections": n, "cut_by_server": len(cut), "longest_s": max(lived)}


def baseline(n_records: int, seconds: float = 2.0) -> float:
    """In-process records/s of ``score_batch`` on the same requests (no HTTP)."""
    recs = records(n_records)
    score_batch(recs)
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        score_batch(recs)
        done += n_records
    return done / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=4.0, help="seconds per load run")
    args = ap.parse_args(argv)

    base = {n: baseline(n) for n in (1, 64)}
    proc, host, port = start_server()
    try:
        asyncio.run(load(host, port, 2, 64, 1.0))  # warm up (math workers)
        print(
            "| clients | records/request | requests/s | records/s | p50 ms | p99 ms | errors | "
            "records/s vs in-process |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for n_records in (1, 64):
            for clients in (1, 8, 64):
                r = asyncio.run(load(host, port, clients, n_records, args.seconds))
                print(
                    f"| {clients} | {n_records} | {r['requests_per_s']:.0f} "
                    f"| {r['records_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
                    f"| {r['errors']} | "
                    f"{r['records_per_s'] / base[n_records]:.2f} |",
                    flush=True,
                )
        print(
            f"\nin-process score_batch: {base[1]:.0f} records/s (1 per call), "
            f"{base[64]:.0f} (64 per call)"
        )
        print(f"server peak RSS after the load runs: {vm_hwm_mib(proc.pid):.0f} MiB")

        quiet = asyncio.run(load(host, port, 8, 1, args.seconds))

        async def attacked() -> tuple[dict[str, float], dict[str, float]]:
            slow = asyncio.ensure_future(slowloris(host, port, 300, 12.0))
            await asyncio.sleep(0.5)
            busy = await load(host, port, 8, 1, args.seconds)
            return busy, await slow

        busy, slow = asyncio.run(attacked())
        print(f"\nslowloris ({slow['connections']} connections, a header byte every 0.5 s):")
        print(
            f"  8 clients x 1 record: {quiet['requests_per_s']:.0f} req/s alone, "
            f"{busy['requests_per_s']:.0f} req/s under attack "
            f"({busy['requests_per_s'] / quiet['requests_per_s']:.2f}x), p99 "
            f"{quiet['p99_ms']:.1f} -> {busy['p99_ms']:.1f} ms, errors {busy['errors']}"
        )
        print(
            "  slow connections cut by the server: "
            f"{slow['cut_by_server']:.0f}/{slow['connections']:.0f}, "
            f"the longest lived {slow['longest_s']:.1f} s"
        )
        print(f"server peak RSS: {vm_hwm_mib(proc.pid):.0f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
