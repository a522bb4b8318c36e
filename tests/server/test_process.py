"""``unireward serve`` as a real subprocess: start-up errors, SIGTERM drain, client aborts,
and the memory a large body costs."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from .conftest import ROOT, ServeProcess, need, record

pytestmark = pytest.mark.integration


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    import subprocess

    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    full_env.pop("UNIREWARD_API_KEY", None)
    p = subprocess.run([sys.executable, "-m", "unireward.cli", "serve", *args], capture_output=True,
                       text=True, timeout=60, env={**full_env, **(env or {})})
    return p.returncode, p.stdout, p.stderr


def test_start_up_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = str(busy.getsockname()[1])
    try:
        cases = {
            "busy port": (["--port", port], "cannot listen on 127.0.0.1:" + port),
            "port out of range": (["--port", "99999"], "port must be 0-65535"),
            "unknown host": (
                ["--host", "no-such-host.invalid", "--insecure"],
                "cannot listen on no-such-host.invalid",
            ),
            "open bind without a key": (["--host", "0.0.0.0"], "without authentication"),
            "bad option": (["--math-timeout", "-1"], "math_timeout"),
            "infinite deadline": (["--request-timeout", "inf"], "request_timeout"),
            "unknown task": (["--task", "no such task"], "no such task"),
            "empty key file": (["--api-key-file", str(tmp_path / "empty")], "is empty"),
        }
        (tmp_path / "empty").write_text("\n")
        for name, (args, expected) in cases.items():
            rc, out, err = _cli(*args)
            assert rc == 2, (name, rc, err)
            assert err.count("\n") == 1 and err.startswith("unireward: ") and expected in err, (
                name,
                err,
            )
            assert "Traceback" not in err and out == "", name
    finally:
        busy.close()


def test_an_open_bind_with_a_key_from_the_environment_starts(
    serve_process: type[ServeProcess],
) -> None:
    srv = serve_process("--host", "0.0.0.0", env={"UNIREWARD_API_KEY": "k3y"})
    port = srv.url.rsplit(":", 1)[1]
    r = httpx.post(f"http://127.0.0.1:{port}/score", trust_env=False, json={"records": []},
                   headers={"Authorization": "Bearer k3y"})
    assert r.status_code == 200
    assert (
        httpx.post(
            f"http://127.0.0.1:{port}/score", trust_env=False, json={"records": []}
        ).status_code
        == 401
    )
    rc, err = srv.stop()
    assert rc == 0, err


def test_sigterm_drains_in_flight_requests_and_exits_0(serve_process: type[ServeProcess]) -> None:
    srv = serve_process("--grace", "20", "--math-timeout", "3")
    slow = record(r"\boxed{(x+y+z+1)^{99}}", "0", "math")
    httpx.post(
        f"{srv.url}/score",
        trust_env=False,
        json={"records": [record("1+x", "x+1", "math")] * 2},
        timeout=120,
    )  # math workers started
    answers: list[httpx.Response] = []
    clients = [
        threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    f"{srv.url}/score",
                    trust_env=False,
                    json={"records": [slow, record("B", "B", "multiple choice")]},
                    timeout=60,
                )
            )
        )
        for _ in range(3)
    ]
    for t in clients:
        t.start()
    time.sleep(1.0)  # the requests are in flight (each waits ~3 s for its math item)
    t0 = time.monotonic()
    srv.proc.terminate()
    for t in clients:
        t.join(timeout=60)
    rc, err = srv.stop()
    elapsed = time.monotonic() - t0
    assert rc == 0, err
    assert elapsed < 20
    assert [a.status_code for a in answers] == [200, 200, 200]
    for a in answers:
        assert [r["status"] for r in a.json()["results"]] == ["deadline", "ok"]
    assert "Traceback" not in err
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{srv.url}/health", trust_env=False)


def test_grace_bounds_the_drain(serve_process: type[ServeProcess]) -> None:
    srv = serve_process("--grace", "2", "--math-timeout", "30", "--request-timeout", "60")
    slow = record(r"\boxed{(x+y+z+1)^{99}}", "0", "math")
    answers: list[httpx.Response] = []
    t = threading.Thread(target=lambda: answers.append(httpx.post(
        f"{srv.url}/score", trust_env=False, json={"records": [slow]}, timeout=60)))
    t.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    rc, err = srv.stop()
    assert rc == 0 and time.monotonic() - t0 < 2 + 3, err
    t.join(timeout=30)
    assert answers and answers[0].status_code == 503 and answers[0].json()["error"]


def test_client_aborts_log_no_traceback(serve_process: type[ServeProcess]) -> None:
    srv = serve_process()
    host, port = srv.url.rsplit("/", 1)[1].rsplit(":", 1)
    body = json.dumps({"records": [record("B", "B", "multiple choice")] * 2000}).encode()
    for i in range(20):
        s = socket.create_connection((host, int(port)))
        head = f"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        s.sendall(
            head + (body[: len(body) // 2] if i % 2 else body)
        )  # mid-body, or before the answer
        if i % 3 == 0:
            s.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )  # RST
        s.close()
    time.sleep(1.0)
    assert httpx.get(f"{srv.url}/health", trust_env=False).status_code == 200
    rc, err = srv.stop()
    assert rc == 0 and "Traceback" not in err and "Exception" not in err, err


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_peak_memory_of_a_64_mib_body(serve_process: type[ServeProcess]) -> None:
    srv = serve_process("--max-body-mb", "64")
    httpx.post(
        f"{srv.url}/score", trust_env=False, json={"records": [record("B", "B", "multiple choice")]}
    )
    before = _rss_kib(srv.pid, "VmRSS")
    think = "a step of reasoning, " * 750  # 15 KiB completions: 4,150 records make 63 MiB
    records = [record("B", "B", "multiple choice", think=think)] * 4150
    body = json.dumps({"records": records}).encode()
    assert 62 << 20 < len(body) < 64 << 20
    r = httpx.post(f"{srv.url}/score", trust_env=False, content=body, timeout=300)
    assert r.status_code == 200 and len(r.json()["results"]) == 4150
    peak = _rss_kib(srv.pid, "VmHWM")
    growth = (peak - before) * 1024
    print(f"peak growth {growth >> 20} MiB for a {len(body) >> 20} MiB body")
    assert growth < 4 * len(body), (growth >> 20, len(body) >> 20)
    # the attack: 5.7 MiB of `{}` records (two million objects) is refused
    attack = b'{"records": [' + b"{}," * 2_000_000 + b"{}]}"
    r = httpx.post(f"{srv.url}/score", trust_env=False, content=attack, timeout=300)
    assert r.status_code == 413 and "--max-records" in r.json()["error"]
    assert (_rss_kib(srv.pid, "VmHWM") - before) * 1024 < 4 * len(body)
    # 64 MiB of them would be 22 million objects: refused before parsing
    attack = b'{"records": [' + b"{}," * 21_000_000 + b"{}]}"
    r = httpx.post(f"{srv.url}/score", trust_env=False, content=attack, timeout=300)
    assert r.status_code == 413 and "once parsed" in r.json()["error"]
    assert (_rss_kib(srv.pid, "VmHWM") - before) * 1024 < 4 * len(body)
    srv.stop()


def test_a_missing_server_extra_is_named() -> None:
    import subprocess

    code = ("import sys; sys.modules['uvicorn'] = None\n"
            "from unireward.cli import main; raise SystemExit(main(['serve', '--port', '0']))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert "pip install 'unireward[server]'" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_thousand_single_sample_requests_at_once(serve_process: type[ServeProcess]) -> None:
    """OpenRLHF 0.11 sends every sample of a step as its own request, all at once; the server
    starts under a soft limit of 256 open files (a common default is 1,024) and raises it."""
    import asyncio

    aiohttp = need("aiohttp")
    srv = serve_process(open_files=256)
    soft = int(next(ln.split()[3] for ln in Path(f"/proc/{srv.pid}/limits").read_text().splitlines()
                    if ln.startswith("Max open files")))
    assert soft > 1024
    label = json.dumps({"problem_type": "multiple choice", "solution": "B"})

    async def main() -> list[int]:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=180)
        ) as s:

            async def one(i: int) -> int:
                payload = {
                    "query": [f"Q{i} <think>t</think><answer>B</answer>"],
                    "prompts": [f"Q{i} "],
                    "labels": [label],
                }
                async with s.post(f"{srv.url}/get_reward", json=payload) as r:
                    body = await r.json()
                    return r.status if body.get("rewards") == [1.5] else -r.status

            return await asyncio.gather(*(one(i) for i in range(1000)))

    statuses = asyncio.run(main())
    assert statuses.count(200) == 1000
    rc, err = srv.stop()
    assert rc == 0 and "Traceback" not in err
