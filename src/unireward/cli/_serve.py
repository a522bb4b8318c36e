"""``unireward serve``: the scorers behind HTTP, for trainers on other machines.

Endpoints:
- ``GET /health`` -> ``{"status": "ok", "version": ...}``
- ``POST /get_reward`` (OpenRLHF's remote reward protocol): ``{"query": [...],
  "prompts": [...], "labels": [...]}`` -> ``{"rewards": [...], "scores": [...],
  "extra_logs": {...}, "status": [...], "reason": [...]}``. ``query`` is prompt + response;
  the response is ``query`` with the prompt removed from its start. A label is an object
  (or its JSON text) with a ``ground_truth`` key and optionally ``task``, ``data_type`` and
  ``problem_id``; any other label is the ground truth itself, scored as ``--task``.
  ``rewards`` are the totals, ``scores`` the accuracies (in [0, 1], for dynamic filtering),
  ``extra_logs`` per-sample numbers (accuracy, format, structure, error).
- ``POST /score``: ``{"records": [...]}`` -> ``{"results": [...]}`` (one
  ``RewardResult.to_dict()`` per record; a bad record gets status ``error``).

Request bodies are bounded (``--max-body-mb``, 413 beyond); a malformed request gets a 400
with ``{"error": ...}``, a failing reward model a 502.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .._version import __version__
from ..errors import RemoteRewardError, UniRewardError

__all__ = ["RewardServer", "add_serve_parser", "labels_to_records", "make_server", "serve_in_thread"]


class _BadRequest(Exception):
    pass


def _label(label: Any) -> dict[str, Any] | None:
    """A label object (a dict, or a JSON object string, with a ``ground_truth`` key), or None."""
    if isinstance(label, str) and label.lstrip().startswith("{"):
        try:
            label = json.loads(label)
        except ValueError:
            return None
    if isinstance(label, dict) and "ground_truth" in label:
        return label
    return None


def labels_to_records(query: list[Any], prompts: list[Any], labels: list[Any],
                      default_task: str | None) -> list[dict[str, Any]]:
    """Scoring records for OpenRLHF's ``/get_reward`` lists.

    The response is the query with its prompt removed from the start. A label is either an
    object ``{"task", "ground_truth", "data_type", "problem_id"}`` (or its JSON text), or the
    ground truth itself, scored as ``default_task``.

    >>> labels_to_records(["Q: <answer>B</answer>"], ["Q: "],
    ...                   ['{"task": "multiple choice", "ground_truth": "B"}'], None)[0]["completion"]
    '<answer>B</answer>'
    >>> labels_to_records(["x"], [], ["4"], "numerical")[0]["task"]
    'numerical'
    """
    if len(query) != len(labels) or (prompts and len(prompts) != len(query)):
        raise _BadRequest(f"query, prompts and labels must have one entry per sample "
                          f"(got {len(query)}, {len(prompts)}, {len(labels)})")
    records = []
    for i, (q, label) in enumerate(zip(query, labels, strict=True)):
        if not isinstance(q, str):
            raise _BadRequest(f"query[{i}] must be a string")
        prompt = prompts[i] if prompts else ""
        if not isinstance(prompt, str):
            raise _BadRequest(f"prompts[{i}] must be a string")
        response = q[len(prompt):] if prompt and q.startswith(prompt) else q
        obj = _label(label)
        if obj is not None:
            rec = {"completion": response, "ground_truth": obj["ground_truth"],
                   "task": obj.get("task") or default_task, "data_type": obj.get("data_type"),
                   "problem_id": obj.get("problem_id"), "prompt": prompt or None}
        else:
            rec = {"completion": response, "ground_truth": label, "task": default_task,
                   "prompt": prompt or None}
        if not rec["task"]:
            raise _BadRequest(f"labels[{i}] names no task and the server has no --task default")
        if rec["ground_truth"] is None:
            raise _BadRequest(f"labels[{i}] has no ground truth")
        records.append({k: v for k, v in rec.items() if v is not None})
    return records


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls
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
        if self.path.split("?", 1)[0] not in ("/get_reward", "/score"):
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
            if self.path.startswith("/score"):
                self._send(200, self._score(payload))
            else:
                self._send(200, self._get_reward(payload))
        except RemoteRewardError as exc:
            self._send(502, {"error": f"reward model failed: {exc}"})
        except (ValueError, _BadRequest, UniRewardError) as exc:
            self._send(400, {"error": str(exc)})
        except Exception as exc:  # a bug: answer, keep serving
            self._send(500, {"error": f"{type(exc).__name__}: {exc}"})

    def _score(self, payload: dict[str, Any]) -> dict[str, Any]:
        records = payload.get("records")
        if not isinstance(records, list):
            raise _BadRequest("'records' must be a list of objects")
        results = self.server.score(records)
        return {"results": [r.to_dict() for r in results]}

    def _get_reward(self, payload: dict[str, Any]) -> dict[str, Any]:
        query, prompts, labels = payload.get("query"), payload.get("prompts") or [], payload.get("labels")
        if not isinstance(query, list) or not isinstance(labels, list) or not isinstance(prompts, list):
            raise _BadRequest("'query' and 'labels' must be lists ('prompts' an optional list)")
        records = labels_to_records(query, prompts, labels, self.server.default_task)
        results = self.server.score(records)
        rewards = [r.total for r in results]
        return {
            "rewards": rewards,
            "scores": [r.accuracy for r in results],
            "extra_logs": {  # numbers only: OpenRLHF turns each list into a tensor
                "accuracy": [r.accuracy for r in results],
                "format": [r.format for r in results],
                "structure": [r.structure for r in results],
                "error": [float(r.status.value == "error") for r in results],
            },
            "status": [r.status.value for r in results],
            "reason": [r.reason for r in results],
        }


class RewardServer(ThreadingHTTPServer):
    """A threading HTTP server around :func:`unireward.score_batch` (see the module docstring).

    Args:
        address: ``(host, port)``; port 0 picks a free one.
        default_task: the task for labels that name none.
        max_body: the largest request body in bytes (413 beyond).
        options: scoring options (``profile``, ``format_weight``, ``math_timeout``).
        reward_model: a :class:`RewardModelSpec` for open-ended answers, or None.
        reward_model_fallback: ``None`` or ``"rouge"``.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, default_task: str | None = None,
                 max_body: int = 64 << 20, options: dict[str, Any] | None = None,
                 reward_model: Any = None, reward_model_fallback: str | None = None,
                 verbose: bool = False) -> None:
        from ..tasks.base import ScoreOptions

        self.options = dict(options or {})
        ScoreOptions(**self.options)  # raise on bad options before listening
        super().__init__(address, _Handler)
        self.default_task = default_task
        self.max_body = max_body
        self.verbose = verbose
        self.reward_model_fallback = reward_model_fallback
        self._client = None if reward_model is None else reward_model.client()

    def score(self, records: list[Any]) -> list[Any]:
        from ..api import score_batch

        return score_batch(records, errors="record", reward_model=self._client,
                           reward_model_fallback=self.reward_model_fallback, **self.options)

    def server_close(self) -> None:
        super().server_close()
        if self._client is not None:
            self._client.close()


def make_server(host: str = "127.0.0.1", port: int = 8000, **kwargs: Any) -> RewardServer:
    """Build (not start) a server; ``port=0`` picks a free port.

    >>> srv = make_server(port=0, default_task="numerical")
    >>> srv.server_address[0], srv.default_task
    ('127.0.0.1', 'numerical')
    >>> srv.server_close()
    """
    return RewardServer((host, port), **kwargs)


EPILOG = """examples:
  unireward serve --port 8000
  unireward serve --host 0.0.0.0 --task "multiple choice"     # labels are bare ground truths
  unireward serve --reward-model-url http://rm:8000 --reward-model-fallback rouge
  curl -s localhost:8000/health
  curl -s localhost:8000/get_reward -d '{"query": ["Q <answer>B</answer>"], "prompts": ["Q "],
       "labels": [{"task": "multiple choice", "ground_truth": "B"}]}'
  curl -s localhost:8000/score -d '{"records": [{"completion": "<answer>4</answer>",
       "ground_truth": "4", "task": "numerical"}]}'

OpenRLHF: --remote_rm_url http://HOST:8000/get_reward (labels from --label_key).
"""


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve", help="serve rewards over HTTP (OpenRLHF /get_reward and a JSON /score endpoint)",
        description="An HTTP reward server: GET /health, POST /get_reward (OpenRLHF remote reward "
        "protocol), POST /score (records -> results).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--task", default=None, help="task for labels that name none")
    p.add_argument("--max-body-mb", type=float, default=64.0, metavar="MB",
                   help="largest request body (default 64; 413 beyond)")
    p.add_argument("--profile", default="onethinker", choices=["onethinker", "strict"])
    p.add_argument("--format-weight", type=float, default=0.1, metavar="W")
    p.add_argument("--math-timeout", type=float, default=5.0, metavar="SECONDS")
    p.add_argument("--reward-model-url", default=None, metavar="URL")
    p.add_argument("--reward-model-backend", default="vllm", choices=["vllm", "lmdeploy", "sglang"])
    p.add_argument("--reward-model-fallback", default=None, choices=["rouge"])
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from ._engines import RewardModelSpec

    spec = (RewardModelSpec(args.reward_model_url, args.reward_model_backend)
            if args.reward_model_url else None)
    options = {"profile": args.profile, "format_weight": args.format_weight,
               "math_timeout": args.math_timeout}
    try:
        srv = make_server(args.host, args.port, default_task=args.task,
                          max_body=int(args.max_body_mb * (1 << 20)), options=options,
                          reward_model=spec, reward_model_fallback=args.reward_model_fallback,
                          verbose=args.verbose)
    except UniRewardError as exc:
        print(f"unireward: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"unireward: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    host, port = str(srv.server_address[0]), int(srv.server_address[1])
    print(f"unireward serving on http://{host}:{port} (GET /health, POST /get_reward, POST /score)",
          flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


def serve_in_thread(**kwargs: Any) -> tuple[RewardServer, threading.Thread]:
    """Start a server on a free port of 127.0.0.1 in a daemon thread (tests, notebooks)."""
    srv = make_server(port=0, **kwargs)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    return srv, t
