"""Limits under real load on 127.0.0.1: concurrency, slowloris, slow bodies, saturation,
request sizes, and deadlines that count queue time with math work shared fairly."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from unireward.server import ServerConfig, serve_in_thread

from .conftest import raw_exchange, record, split_reply

pytestmark = pytest.mark.integration


def _addr(url: str) -> tuple[str, int]:
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    return host, int(port)


def test_64_concurrent_clients_get_no_errors() -> None:
    recs = [
        record("B", "B", "multiple choice"),
        record('{"boxes": [1, 2, 30, 40]}', '{"boxes": [1, 2, 30, 42]}', "spatial grounding"),
        record("2", "2", "numerical"),
    ]
    barrier = threading.Barrier(64)

    def client(_: int) -> int:
        errors = 0
        with httpx.Client(
            trust_env=False, timeout=120
        ) as c:  # one connection per client, kept alive
            barrier.wait()
            for _ in range(8):
                r = c.post(f"{url}/score", json={"records": recs})
                ok = (
                    r.status_code == 200
                    and [x["status"] for x in r.json()["results"]] == ["ok"] * 3
                )
                errors += not ok
        return errors

    with serve_in_thread() as url, ThreadPoolExecutor(64) as ex:
        errors = sum(ex.map(client, range(64)))
    assert errors == 0


def _slowloris(url: str, n: int, stop: threading.Event) -> list[bytes]:
    """``n`` connections that send their request headers one byte at a time; what each got back."""
    socks = [socket.create_connection(_addr(url)) for _ in range(n)]
    head = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-Padding: " + b"a" * 200
    replies = [b""] * n
    open_ = set(range(n))
    for s in socks:
        s.setblocking(False)
    k = 0
    while open_ and not stop.is_set():
        for i in list(open_):
            try:
                socks[i].send(head[k % len(head):k % len(head) + 1])
            except OSError:
                pass
            try:
                chunk = socks[i].recv(4096)
                replies[i] += chunk
                if not chunk:
                    open_.discard(i)
            except BlockingIOError:
                pass
            except OSError:
                open_.discard(i)
        k += 1
        time.sleep(0.1)
    for s in socks:
        s.close()
    return replies


def test_slowloris_connections_are_cut_and_others_are_served() -> None:
    with serve_in_thread(ServerConfig(header_timeout=1.0)) as url:
        stop = threading.Event()
        result: list[list[bytes]] = []
        t = threading.Thread(target=lambda: result.append(_slowloris(url, 100, stop)))
        start = time.monotonic()
        t.start()
        time.sleep(0.3)
        with httpx.Client(
            base_url=url, trust_env=False, timeout=10
        ) as c:  # others are answered meanwhile
            latencies = []
            for _ in range(5):
                t0 = time.monotonic()
                assert (
                    c.post(
                        "/score", json={"records": [record("B", "B", "multiple choice")]}
                    ).status_code
                    == 200
                )
                latencies.append(time.monotonic() - t0)
        t.join(timeout=15)
        stop.set()
        elapsed = time.monotonic() - start
    assert not t.is_alive() and elapsed < 15  # every slow connection was closed by the server
    replies = result[0]
    assert all(split_reply(r)[0] == 408 for r in replies)
    assert json.loads(split_reply(replies[0])[2])["error"].startswith(
        "request line and headers not received"
    )
    assert max(latencies) < 3.0


def test_header_deadline_applies_again_on_a_kept_alive_connection() -> None:
    with serve_in_thread(ServerConfig(header_timeout=1.0, keep_alive=30)) as url:
        with socket.create_connection(_addr(url), timeout=10) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            first = s.recv(65536)
            assert first.startswith(b"HTTP/1.1 200")
            t0 = time.monotonic()
            s.sendall(b"GET /hea")  # the next request never completes
            rest = b""
            while chunk := s.recv(65536):
                rest += chunk
        assert split_reply(rest)[0] == 408 and time.monotonic() - t0 < 5


def test_slow_body_gets_408() -> None:
    with serve_in_thread(ServerConfig(body_timeout=1.0)) as url:
        t0 = time.monotonic()
        reply = raw_exchange(
            url, b'POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"rec', wait=10
        )
        status, headers, body = split_reply(reply)
    assert status == 408 and headers["content-type"] == "application/json"
    assert "body not received within 1 s" in json.loads(body)["error"]
    assert time.monotonic() - t0 < 5


def test_saturation_answers_503_with_retry_after() -> None:
    with serve_in_thread(ServerConfig(max_concurrency=2, body_timeout=30)) as url:
        held = [socket.create_connection(_addr(url)) for _ in range(2)]
        for s in held:  # two admitted requests whose bodies never finish
            s.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
        time.sleep(0.5)
        busy = httpx.post(f"{url}/score", trust_env=False, json={"records": []})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert "busy" in busy.json()["error"]
        for s in held:
            s.close()
        time.sleep(0.5)
        assert httpx.post(f"{url}/score", trust_env=False, json={"records": []}).status_code == 200


def test_request_size_limits() -> None:
    cfg = ServerConfig(max_records=100, max_parse_bytes=50 << 20, max_response=10_000)
    with serve_in_thread(cfg) as url, httpx.Client(base_url=url, trust_env=False, timeout=60) as c:
        many = c.post("/score", json={"records": [{}] * 101})
        assert many.status_code == 413 and "101 records" in many.json()["error"]
        # the attack: 5.7 MiB of `{}` records would be about 2 million objects
        empties = c.post("/score", content=b'{"records": [' + b"{}," * 2_000_000 + b"{}]}")
        assert empties.status_code == 413 and "once parsed" in empties.json()["error"]
        few = c.post("/score", json={"records": [{"completion": "x" * 5000}] * 10})
        assert few.status_code == 200 and len(few.content) < 10_000
        # 99 error rows with their reasons make a response of about 18 kB: over 10,000 bytes
        too_long = c.post("/score", json={"records": [{"completion": "x"}] * 99})
        assert too_long.status_code == 413 and "the response would be" in too_long.json()["error"]
        assert c.get("/health").status_code == 200


SLOW = record(r"\boxed{(x+y+z+1)^{99}}", "0", "math")  # runs until killed in the symbolic engine
QUICK = record("x + 1", "1 + x", "math")  # symbolic, but instant


def _race(url: str, hog: list[dict]) -> dict[str, tuple[float, list[dict]]]:
    """One client sends ``hog``; 0.3 s later another sends one quick math item."""
    out: dict[str, tuple[float, list[dict]]] = {}

    def send(name: str, records: list[dict]) -> None:
        t0 = time.monotonic()
        with httpx.Client(base_url=url, trust_env=False, timeout=120) as c:
            r = c.post("/score", json={"records": records})
        out[name] = (time.monotonic() - t0, r.json()["results"])

    send("warm-up", [QUICK, QUICK])  # both math workers started and imported
    hog = threading.Thread(target=send, args=("hog", hog))
    hog.start()
    time.sleep(0.3)
    send("other", [QUICK])
    hog.join()
    return out


def test_math_work_is_shared_fairly_between_requests() -> None:
    # the hog's ten 2 s items take five rounds on the two workers, each round followed by the
    # restart of the killed workers (seconds on a loaded machine)
    cfg = ServerConfig(options={"math_timeout": 2.0}, request_timeout=120.0, math_threads=2)
    with serve_in_thread(cfg) as url:
        out = _race(url, [SLOW] * 10)
    other_time, other = out["other"]
    assert other[0]["status"] == "ok" and other[0]["accuracy"] == 1.0
    # round robin: it waits for one item of the hog and a worker restart at most, about a fifth
    # of the hog's five rounds (first come, first served, it would finish with the hog's last)
    hog_time = out["hog"][0]
    assert other_time < hog_time / 2, (other_time, hog_time)
    assert [r["status"] for r in out["hog"][1]] == ["deadline"] * 10


def test_the_request_deadline_counts_queue_time() -> None:
    cfg = ServerConfig(options={"math_timeout": 2.0}, request_timeout=8.0, math_threads=2)
    with serve_in_thread(cfg) as url:
        out = _race(url, [SLOW] * 14)
    hog_time, hog = out["hog"]
    # without queue time in the deadline: 7 rounds of (2 s + a worker restart), 14 s or more;
    # with it the answer comes at 8 s (whatever still runs, a worker restart say, finishes unseen)
    assert hog_time < 8.0 + 1.0, hog_time
    statuses = [r["status"] for r in hog]
    assert statuses.count("deadline") == 14
    queued = [r["reason"] for r in hog if "queue time included" in (r["reason"] or "")]
    assert len(queued) >= 4  # two workers run at most 8 items of 2 s in 8 s: the rest never ran
    # the other client's request is bounded by the same deadline (whether its item got a worker
    # in time depends on how fast killed workers restart: fairness is the test above)
    other_time, other = out["other"]
    assert other_time < 8.0 + 1.0, other_time
    assert other[0]["status"] in ("ok", "deadline") and len(other) == 1


def test_pipelined_requests_and_a_silent_idle_close() -> None:
    with serve_in_thread(ServerConfig(header_timeout=1.0, keep_alive=30)) as url:
        body = b'{"records": []}'
        score = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (
            len(body),
            body,
        )
        health = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        reply = raw_exchange(url, health + score + health, wait=10)
    # three answers in order, then the idle connection is closed without a reply of its own
    assert reply.count(b"HTTP/1.1 200") == 3 and b"408" not in reply
    assert reply.index(b'"results"') > reply.index(b'"status"')
