"""A small real HTTP server that speaks like a POLAR reward model behind vLLM, LMDeploy or SGLang.

Standard library only. It listens on 127.0.0.1 (a free port), answers

* ``POST /pooling`` with ``{"data": [{"data": ...}, ...]}`` (vLLM rows ``[[x], .., [s]]`` by
  default; ``pooling_shape="scalar"`` gives LMDeploy's bare number, ``"flat"`` a flat list),
* ``POST /classify`` with ``[{"embedding": [s]}, ...]`` (SGLang),

where ``s`` is ``scores[text]`` when the text was scripted, else :func:`default_score`.
Faults can be queued, one consumed per request: ``"500"``/``"503"``/``"400"``/... (that
status), ``"drop"`` (close the connection without answering), ``"slow:SECONDS"`` (sleep, then
answer normally), ``"bad_json"``, ``"short"`` (one score too few), ``"nan"`` (a NaN score),
``"not_a_list"``. It records every request body and the most requests it had in flight.

Run it as a script for benchmarks: ``python polar_server.py [--latency S]`` prints
``PORT <n>`` and serves until killed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["PolarServer", "default_score"]


def default_score(text: str) -> float:
    """A deterministic pseudo-score in [-5, 5) derived from the text's SHA-256."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 * 10.0 - 5.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib name)
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        owner = self.server.owner
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        with owner.lock:
            owner.in_flight += 1
            owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
            fault = owner.faults.popleft() if owner.faults else None
        try:
            self._answer(owner, raw, fault)
        finally:
            with owner.lock:
                owner.in_flight -= 1

    def _answer(self, owner: PolarServer, raw: bytes, fault: str | None) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with owner.lock:
            owner.requests.append({"path": self.path, "body": body,
                                   "headers": dict(self.headers.items()),
                                   "client_port": self.client_address[1]})
        if owner.latency:
            time.sleep(owner.latency)
        if fault is not None and fault.startswith("slow:"):
            time.sleep(float(fault.split(":", 1)[1]))
            fault = None
        if fault == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault is not None and fault.isdigit():
            self._send(int(fault), b"scripted failure", "text/plain")
            return
        if fault == "bad_json":
            self._send(200, b'{"data": [oops')
            return
        if self.path not in ("/pooling", "/classify") or not isinstance(body, dict):
            self._send(404 if body is not None else 400, b"{}")
            return
        texts = body.get("text" if self.path == "/classify" else "input")
        if not isinstance(texts, list):
            self._send(400, b'{"error": "missing texts"}')
            return
        scores = [owner.score_of(t) for t in texts]
        if fault == "short":
            scores = scores[:-1]
        if fault == "nan":
            scores[0] = float("nan")
        if self.path == "/classify":
            out: Any = [{"embedding": [s], "index": i} for i, s in enumerate(scores)]
        else:
            out = {"object": "list", "data": [
                {"index": i, "object": "pooling", "data": owner.pooling_item(s)}
                for i, s in enumerate(scores)]}
        if fault == "not_a_list":
            out = {"unexpected": True}
        self._send(200, json.dumps(out).encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: PolarServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up on a slow answer is expected in the tests


class PolarServer:
    """The server, started in a background thread (use as a context manager)."""

    def __init__(self, *, latency: float = 0.0, pooling_shape: str = "rows") -> None:
        self.latency = latency
        self.pooling_shape = pooling_shape
        self.scores: dict[str, float] = {}
        self.faults: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PolarServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> PolarServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def queue(self, faults: Iterable[str]) -> None:
        """Queue faults, one consumed per request (in order)."""
        with self.lock:
            self.faults.extend(faults)

    def score_of(self, text: Any) -> float:
        if isinstance(text, str) and text in self.scores:
            return self.scores[text]
        return default_score(str(text))

    def pooling_item(self, score: float) -> Any:
        if self.pooling_shape == "scalar":
            return score
        if self.pooling_shape == "flat":
            return [0.0, score]
        return [[0.25], [-1.0], [score]]  # per-token rows; the last row holds the reward

    @property
    def texts_received(self) -> list[str]:
        """Every text received, in arrival order."""
        out: list[str] = []
        for r in self.requests:
            body = r["body"] or {}
            out.extend(body.get("input") or body.get("text") or [])
        return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = PolarServer(latency=args.latency).start()
    print(f"PORT {server.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
