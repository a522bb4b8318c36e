"""``unireward serve``: the scorers behind HTTP, for trainers on other machines.

Endpoints:
- ``GET /health`` -> ``{"status": "ok", "version": ...}``
- ``POST /get_reward`` (OpenRLHF's remote reward protocol): ``{"query": [...],
  "prompts": [...], "labels": [...]}`` -> ``{"rewards": [...], "scores": [...],
  "extra_logs": {...}}``. ``query`` is prompt + response; the response is ``query`` with
  the prompt removed from its start. A label is a ground truth string (the task then comes
  from ``--task``) or a JSON object / object string
  ``{"task": ..., "ground_truth": ..., "data_type": ...}``.
- ``POST /score``: ``{"records": [...]}`` -> ``{"results": [...]}`` (one per record).

Request bodies are bounded (``--max-body-mb``, 413 beyond); malformed requests get a 400
with ``{"error": ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .._version import __version__
from ..errors import UniRewardError

__all__ = ["RewardServer", "add_serve_parser", "make_server"]


class _BadRequest(Exception):
    pass


def _labels_to_records(query: list[Any], prompts: list[Any], labels: list[Any], default_task: str | None) -> list[dict[str, Any]]:
    if not (len(query) == len(labels) and (not prompts or len(prompts) == len(query))):
        raise _BadRequest("query, prompts and labels must have the same length")
    records = []
    for i, (q, label) in enumerate(zip(query, labels, strict=True)):
        if not isinstance(q, str):
            raise _BadRequest(f"query[{i}] must be a string")
        prompt = prompts[i] if prompts else ""
        response = q[len(prompt):] if isinstance(prompt, str) and prompt and q.startswith(prompt) else q
        if isinstance(label, str) and label.lstrip().startswith("{") and default_task is None:
            try:
                label = json.loads(label)
            except ValueError:
                pass
        if isinstance(label, dict) and "ground_truth" in label:
            rec = {"completion": response, "ground_truth": label["ground_truth"],
                   "task": label.get("task") or default_task, "data_type": label.get("data_type"),
                   "problem_id": label.get("problem_id")}
        else:
            rec = {"completion": response, "ground_truth": label, "task": default_task}
        if not rec["task"]:
            raise _BadRequest(f"labels[{i}] has no task and the server has no --task default")
        records.append(rec)
    return records


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RewardServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/health":
            self._send(200, {"status": "ok", "version": __version__})
        else:
            self._send(404, {"error": f"no such endpoint: GET {self.path}"})

    def do_POST(self) -> None:  # noqa: N802
        if self.path not in ("/get_reward", "/score"):
            self._send(404, {"error": f"no such endpoint: POST {self.path}"})
            return
        try:
            length = int(self.headers.get("Content-Length", "-1"))
        except ValueError:
            length = -1
        if length < 0:
            self._send(411, {"error": "Content-Length required"})
            return
        if length > self.server.max_body:
            self.close_connection = True
            self._send(413, {"error": f"request body over {self.server.max_body} bytes"})
            return
        raw = self.rfile.read(length)
        try:
            payload = json.loads(raw)
            if not isinstance(payload, dict):
                raise _BadRequest("the body must be a JSON object")
            if self.path == "/score":
                self._send(200, self._score(payload))
            else:
                self._send(200, self._get_reward(payload))
        except (ValueError, _BadRequest, UniRewardError) as exc:
            self._send(400, {"error": str(exc)})

    def _score(self, payload: dict[str, Any]) -> dict[str, Any]:
        import unireward

        records = payload.get("records")
        if not isinstance(records, list):
            raise _BadRequest("'records' must be a list")
        results = unireward.score_batch(records, errors="record", **self.server.options)
        return {"results": [r.to_dict() for r in results]}

    def _get_reward(self, payload: dict[str, Any]) -> dict[str, Any]:
        import unireward

        query, prompts, labels = payload.get("query"), payload.get("prompts") or [], payload.get("labels")
        if not isinstance(query, list) or not isinstance(labels, list) or not isinstance(prompts, list):
            raise _BadRequest("'query' and 'labels' must be lists ('prompts' optional)")
        records = _labels_to_records(query, prompts, labels, self.server.default_task)
        results = unireward.score_batch(records, errors="record", **self.server.options)
        rewards = [r.total for r in results]
        return {
            "rewards": rewards,
            "scores": rewards,
            "extra_logs": {
                "accuracy": [r.accuracy for r in results],
                "format": [r.format for r in results],
                "structure": [r.structure for r in results],
                "status": [r.status.value for r in results],
            },
        }


class RewardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, default_task: str | None = None,
                 max_body: int = 64 << 20, options: dict[str, Any] | None = None, verbose: bool = False) -> None:
        super().__init__(address, _Handler)
        self.default_task = default_task
        self.max_body = max_body
        self.options = options or {}
        self.verbose = verbose


def make_server(host: str = "127.0.0.1", port: int = 8000, **kwargs: Any) -> RewardServer:
    """Build (not start) a server; ``port=0`` picks a free port."""
    return RewardServer((host, port), **kwargs)


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve rewards over HTTP (OpenRLHF /get_reward and a JSON /score endpoint)",
        epilog="examples:\n  unireward serve --port 8000\n  unireward serve --host 0.0.0.0 --task 'multiple choice'\n"
        "  curl -s localhost:8000/health",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--task", default=None, help="task for labels that do not name one")
    p.add_argument("--max-body-mb", type=float, default=64.0)
    p.add_argument("--profile", default="onethinker", choices=["onethinker", "strict"])
    p.add_argument("--verbose", action="store_true")
    p.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    try:
        srv = make_server(args.host, args.port, default_task=args.task, max_body=int(args.max_body_mb * (1 << 20)),
                          options={"profile": args.profile}, verbose=args.verbose)
    except OSError as exc:
        print(f"unireward: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    host, port = str(srv.server_address[0]), int(srv.server_address[1])
    print(f"unireward serving on http://{host}:{port} (GET /health, POST /get_reward, POST /score)", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


def serve_in_thread(**kwargs: Any) -> tuple[RewardServer, threading.Thread]:
    """Start a server in a daemon thread (for tests and notebooks)."""
    srv = make_server(port=0, **kwargs)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    return srv, t
