"""``unireward serve``: the scorers behind HTTP, for trainers on other machines.

The server itself lives in :mod:`unireward.server` (``unireward[server]``: uvicorn and
Starlette); this module reads the command line, binds the socket and reports start-up
problems as one line with exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from ..errors import ConfigurationError, UniRewardError

__all__ = ["API_KEY_ENV", "add_serve_parser", "run_serve"]

#: The environment variable read when ``--api-key`` is not given.
API_KEY_ENV = "UNIREWARD_API_KEY"

EPILOG = f"""examples:
  unireward serve --port 8000
  unireward serve --host 0.0.0.0 --api-key-file key.txt --task "multiple choice"
  {API_KEY_ENV}=s3cret unireward serve --host 0.0.0.0
  unireward serve --reward-model-url http://rm:8000 --reward-model-fallback rouge
  curl -s localhost:8000/health
  curl -s localhost:8000/get_reward -d '{{"query": ["Q <answer>B</answer>"], "prompts": ["Q "],
       "labels": [{{"problem_type": "multiple choice", "solution": "B"}}]}}'
  curl -s localhost:8000/score -d '{{"records": [{{"completion": "<answer>4</answer>",
       "ground_truth": "4", "task": "numerical"}}]}}'

OpenRLHF: --remote_rm_url http://HOST:8000/get_reward (labels from --label_key).
Stop with SIGTERM or Ctrl-C: in-flight requests are answered (up to --grace seconds), exit 0.
exit codes: 0 stopped cleanly, 2 cannot start (bad option, busy port, missing extra)
"""


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve", help="serve rewards over HTTP (OpenRLHF /get_reward and a JSON /score endpoint)",
        description="An HTTP reward server: GET /health, GET /metrics, POST /get_reward (OpenRLHF "
        "remote reward protocol), POST /score (records -> results).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_listening(p.add_argument_group("listening"))
    _add_scoring(p.add_argument_group("scoring"))
    _add_sam2(p.add_argument_group(
        "SAM2 mask rewards (serve segmentation records scored by SAM2 masks)"))
    _add_limits(p.add_argument_group("limits"))
    p.add_argument("--verbose", action="store_true", help="log every request")
    p.set_defaults(run=run_serve)


def _add_listening(g: Any) -> None:
    g.add_argument("--host", default="127.0.0.1")
    g.add_argument("--port", type=int, default=8000)
    g.add_argument("--backlog", type=int, default=2048, help="listen backlog (default 2048)")
    g.add_argument(
        "--api-key",
        default=None,
        metavar="KEY",
        help=f"bearer token required on every request but /health (default: ${API_KEY_ENV})",
    )
    g.add_argument(
        "--api-key-file", default=None, metavar="PATH", help="read the bearer token from a file"
    )
    g.add_argument("--insecure", action="store_true",
                   help="allow a non-loopback --host without an API key")


def _add_scoring(s: Any) -> None:
    s.add_argument("--task", default=None, help="task for labels that name none")
    s.add_argument("--profile", default="onethinker", choices=["onethinker", "strict"])
    s.add_argument("--format-weight", type=float, default=0.1, metavar="W")
    s.add_argument("--math-timeout", type=float, default=5.0, metavar="SECONDS")
    s.add_argument(
        "--eos-token",
        action="append",
        default=None,
        metavar="TOKEN",
        help="a marker removed from the end of /get_reward responses (repeatable; default: "
        "the usual end-of-sequence tokens, e.g. <|im_end|>, <|endoftext|>, </s>)",
    )
    s.add_argument("--reward-model-url", default=None, metavar="URL")
    s.add_argument("--reward-model-backend", default="vllm", choices=["vllm", "lmdeploy", "sglang"])
    s.add_argument("--reward-model-fallback", default=None, choices=["rouge"])


def _add_sam2(m: Any) -> None:
    m.add_argument(
        "--sam2",
        default=None,
        metavar="CONFIG",
        help="serve the SAM2 scoring service instead (e.g. configs/sam2.1/sam2.1_hiera_t.yaml); "
        "needs unireward[sam2,server]",
    )
    m.add_argument("--checkpoint", default=None, metavar="PATH", help="SAM2 weights")
    m.add_argument("--device", default="cpu", help="torch device for SAM2 (default cpu; e.g. cuda)")
    m.add_argument(
        "--allow-random-init",
        action="store_true",
        help="serve a randomly initialised SAM2 when no --checkpoint is given (tests only)",
    )
    m.add_argument("--media-root", default=None, metavar="DIR",
                   help="folder that relative image, video and mask paths are read from")


def _add_limits(lim: Any) -> None:
    lim.add_argument("--max-body-mb", type=float, default=64.0, metavar="MB",
                     help="largest request body (default 64; 413 beyond)")
    lim.add_argument("--max-records", type=int, default=65536, metavar="N",
                     help="most records per request (default 65536; 413 beyond)")
    lim.add_argument(
        "--max-parse-mb",
        type=float,
        default=384.0,
        metavar="MB",
        help="most memory one parsed body may take, estimated before parsing (default 384)",
    )
    lim.add_argument("--max-response-mb", type=float, default=256.0, metavar="MB",
                     help="largest response body (default 256; 413 beyond)")
    lim.add_argument(
        "--max-concurrency",
        type=int,
        default=2048,
        metavar="N",
        help="scoring requests admitted at once (default 2048; 503 + Retry-After beyond)",
    )
    lim.add_argument("--max-inflight-mb", type=float, default=1024.0, metavar="MB",
                     help="total size of admitted bodies (default 1024; 503 + Retry-After beyond)")
    lim.add_argument("--request-timeout", type=float, default=120.0, metavar="SECONDS",
                     help="deadline from arrival to answer, queue time included (default 120); "
                     "rows not scored by then get status 'deadline'")
    lim.add_argument("--body-timeout", type=float, default=60.0, metavar="SECONDS",
                     help="time to receive a body (default 60; 408 beyond)")
    lim.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                     help="time to receive the request line and headers (default 10; 408 beyond)")
    lim.add_argument("--keep-alive", type=float, default=5.0, metavar="SECONDS",
                     help="idle keep-alive connections are closed after this (default 5)")
    lim.add_argument("--grace", type=float, default=30.0, metavar="SECONDS",
                     help="on SIGTERM, how long in-flight requests may take to finish (default 30)")


def _fail(message: str) -> int:
    print(f"unireward: {message}", file=sys.stderr)
    return 2


def _api_key(args: argparse.Namespace) -> str | None:
    if args.api_key_file:
        with open(args.api_key_file, encoding="utf-8") as fh:
            key = fh.read().strip()
        if not key:
            raise ConfigurationError(f"{args.api_key_file} is empty")
        return key
    return args.api_key or os.environ.get(API_KEY_ENV) or None


def _raise_open_files_limit(wanted: int = 65536) -> None:
    """Let the server hold as many connections as its backlog admits: raise the soft limit
    on open files towards the hard one (often 1,024 against 1,048,576)."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return


class _BearerAuth:
    """ASGI wrapper: every HTTP request but ``GET /health`` needs ``Authorization: Bearer KEY``."""

    def __init__(self, app: Any, key: str) -> None:
        self.app, self.key = app, key.encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        import hmac

        if scope["type"] == "http" and scope.get("path") != "/health":
            token = b""
            for name, value in scope.get("headers", ()):
                if name == b"authorization":
                    scheme, _, token = value.partition(b" ")
                    token = token.strip() if scheme.lower() == b"bearer" else b""
            if not hmac.compare_digest(token, self.key):
                body = b'{"error": "missing or wrong bearer token (Authorization: Bearer KEY)"}'
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"www-authenticate", b"Bearer"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def run_serve(args: argparse.Namespace) -> int:
    try:
        from ..server import bind, is_loopback, run
    except ImportError as exc:  # MissingExtraError names the extra
        return _fail(str(exc))
    try:
        api_key = _api_key(args)
        if api_key is None and not args.insecure and not is_loopback(args.host):
            return _fail(f"refusing to serve on {args.host} without authentication: set --api-key, "
                         f"--api-key-file or {API_KEY_ENV}, or pass --insecure")
        config = _server_config(args, api_key)
        if args.task is not None:
            from ..registry import get_scorer

            get_scorer(args.task)
        sock = bind(args.host, args.port, config.backlog)
    except (UniRewardError, ValueError, OverflowError) as exc:
        return _fail(_first_line(exc))
    except OSError as exc:
        why = exc.strerror or str(exc)
        return _fail(f"cannot listen on {args.host}:{args.port}: {why}")
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _raise_open_files_limit()
    app = None
    if args.sam2 is not None:
        try:
            app = _sam2_app(args, config.api_key)
        except Exception as exc:  # missing extra, bad config or checkpoint: one line, exit 2
            sock.close()
            return _fail(_first_line(exc))
    host, port = sock.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in str(host) else host}:{port}"
    if app is not None:
        print(f"unireward serving SAM2 mask rewards on {url} (GET /health, POST /segmentation, "
              "POST /score, POST /get_reward)", flush=True)  # connections wait in the backlog
        run(config, sock, access_log=args.verbose, app=app)
        return 0
    ready = (f"unireward serving on {url} (GET /health, GET /metrics, POST /get_reward, "
             f"POST /score){'' if config.api_key else ' without authentication'}")
    run(config, sock, access_log=args.verbose, on_ready=lambda: print(ready, flush=True))
    return 0


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _server_config(args: argparse.Namespace, api_key: str | None) -> Any:
    """The :class:`~unireward.server.ServerConfig` of the command line (checked)."""
    from ..server import EOS_TOKENS, ServerConfig
    from ._engines import RewardModelSpec

    mib = 1 << 20
    return ServerConfig(
        default_task=args.task,
        options={"profile": args.profile, "format_weight": args.format_weight,
                 "math_timeout": args.math_timeout},
        reward_model=(RewardModelSpec(args.reward_model_url, args.reward_model_backend)
                      if args.reward_model_url else None),
        reward_model_fallback=args.reward_model_fallback,
        eos_tokens=tuple(args.eos_token) if args.eos_token else EOS_TOKENS,
        api_key=api_key,
        max_body=int(args.max_body_mb * mib),
        max_records=args.max_records,
        max_parse_bytes=int(args.max_parse_mb * mib),
        max_response=int(args.max_response_mb * mib),
        max_concurrency=args.max_concurrency,
        max_inflight_bytes=int(args.max_inflight_mb * mib),
        request_timeout=args.request_timeout,
        body_timeout=args.body_timeout,
        header_timeout=args.header_timeout,
        keep_alive=args.keep_alive,
        grace=args.grace,
        backlog=args.backlog,
    )


def _sam2_app(args: argparse.Namespace, api_key: str | None) -> Any:
    """The SAM2 scoring service (behind the bearer token when there is one)."""
    from ..masks.service import build_sam2_app

    app = build_sam2_app(args.sam2, args.checkpoint, device=args.device,
                         allow_random_init=args.allow_random_init, media_root=args.media_root,
                         max_body_mb=args.max_body_mb)
    return app if api_key is None else _BearerAuth(app, api_key)
