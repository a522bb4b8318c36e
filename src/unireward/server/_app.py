"""The ASGI application: routes, limits, authentication, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections import Counter as Tally
from collections.abc import AsyncIterator, Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._version import __version__
from ..errors import RemoteRewardError
from ..registry import get_scorer
from ..result import RewardResult
from ._config import ServerConfig
from ._labels import RowError, labels_to_records
from ._scheduler import Job, Lane, Unit, error_result

__all__ = ["create_app"]

log = logging.getLogger("unireward.server")

_ENDPOINTS = ("/get_reward", "/score", "/health", "/metrics")
_CLOSED_BY_CLIENT = 499  # nginx's code for "client closed request", for the metrics only
_DEADLINE_SLACK = 0.25  # seconds past a deadline for the units cut to end at it to report
_INLINE_PARSE = 16384  # bodies up to this size are parsed on the event loop
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class HTTPError(Exception):
    """An error reply: ``{"error": message}`` with ``status`` (and extra headers)."""

    def __init__(self, status: int, message: str, *, close: bool = False,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        if close:
            self.headers["connection"] = "close"


def _error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def estimated_parse_bytes(body: bytes | bytearray) -> int:
    """What parsing ``body`` may cost in memory, from a linear scan of the raw bytes.

    >>> estimated_parse_bytes(b'[{}, {}]')
    248
    """
    containers = body.count(b"{") + body.count(b"[")
    return 2 * len(body) + 64 * containers + 40 * body.count(b",")


class _Metrics:
    def __init__(self, lanes: dict[str, Lane]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "unireward_http_requests",
            "HTTP requests answered, by endpoint and status code",
            ["endpoint", "code"],
            registry=self.registry,
        )
        self.latency = Histogram("unireward_http_request_duration_seconds",
                                 "Time from a request's arrival to its answer", ["endpoint"],
                                 buckets=_BUCKETS, registry=self.registry)
        self.records = Counter("unireward_records", "Records scored, by endpoint and result status",
                               ["endpoint", "status"], registry=self.registry)
        self.in_flight = Gauge(
            "unireward_requests_in_flight",
            "Scoring requests admitted and not yet answered",
            registry=self.registry,
        )
        queued = Gauge(
            "unireward_queued_units",
            "Units of scoring work waiting for a thread, by lane",
            ["lane"],
            registry=self.registry,
        )
        for name, lane in lanes.items():
            queued.labels(lane=name).set_function(_queued_of(lane))


def _queued_of(lane: Lane) -> Callable[[], float]:
    return lambda: float(lane.queued)


class _Observe:
    """ASGI middleware: count every HTTP reply and its latency by endpoint and status."""

    def __init__(self, app: ASGIApp, metrics: _Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        code = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                code[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = scope.get("path", "")
            endpoint = path if path in _ENDPOINTS else "other"
            status = scope.get("unireward.status", code[0])
            self.metrics.requests.labels(endpoint=endpoint, code=str(status)).inc()
            self.metrics.latency.labels(endpoint=endpoint).observe(time.perf_counter() - start)


class RewardApp:
    """The state behind the routes (see :func:`create_app`)."""

    def __init__(self, config: ServerConfig) -> None:
        from .._mathsafe.worker import default_pool

        self.config = config
        self.options = dict(config.options)
        self.client = None if config.reward_model is None else config.reward_model.client()
        self.lanes = {
            "rules": Lane("rules", config.rules_threads),
            "math": Lane("math", config.math_threads or default_pool().size),
        }
        if self.client is not None:
            self.lanes["remote"] = Lane("remote", config.remote_threads)
        self.metrics = _Metrics(self.lanes)
        self.active = 0
        self.inflight_bytes = 0
        self._api_key = None if config.api_key is None else config.api_key.encode()
        self._rules_kwargs = dict(self.options)
        self._remote_kwargs = {**self.options, "reward_model": self.client,
                               "reward_model_fallback": config.reward_model_fallback}

    # -- plumbing ---------------------------------------------------------------------
    def close(self) -> None:
        for lane in self.lanes.values():
            lane.close()
        if self.client is not None:
            self.client.close()

    def _authorize(self, request: Request) -> None:
        if self._api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self._api_key
        ):
            raise HTTPError(401, "missing or wrong bearer token (Authorization: Bearer KEY)",
                            headers={"www-authenticate": "Bearer"})

    @contextlib.contextmanager
    def _admit(self, reserve: int) -> Any:
        cfg = self.config
        if (
            self.active >= cfg.max_concurrency
            or self.inflight_bytes + reserve > cfg.max_inflight_bytes
        ):
            raise HTTPError(503, f"server busy ({self.active} requests in flight); retry later",
                            headers={"retry-after": str(cfg.retry_after)})
        self.active += 1
        self.inflight_bytes += reserve
        self.metrics.in_flight.inc()
        try:
            yield
        finally:
            self.active -= 1
            self.inflight_bytes -= reserve
            self.metrics.in_flight.dec()

    async def _read_body(self, request: Request, timeout: float) -> bytearray | None:
        limit = self.config.max_body

        async def collect() -> bytearray:
            buf = bytearray()
            async for chunk in request.stream():
                if len(buf) + len(chunk) > limit:
                    raise HTTPError(
                        413, f"request body over {limit} bytes (--max-body-mb)", close=True
                    )
                buf += chunk
            return buf

        try:
            return await asyncio.wait_for(collect(), timeout)
        except asyncio.TimeoutError:
            raise HTTPError(
                408, f"request body not received within {timeout:g} s", close=True
            ) from None
        except ClientDisconnect:
            return None

    # -- endpoints --------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__, "in_flight": self.active})

    async def metrics_endpoint(self, request: Request) -> Response:
        self._authorize(request)
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def get_reward(self, request: Request) -> Response:
        return await self._scoring(request, "/get_reward")

    async def score(self, request: Request) -> Response:
        return await self._scoring(request, "/score")

    async def _scoring(self, request: Request, endpoint: str) -> Response:
        arrived = time.monotonic()
        cfg = self.config
        self._authorize(request)
        raw_length = request.headers.get("content-length")
        length: int | None = None
        if raw_length is not None:
            if not raw_length.isdigit():
                raise HTTPError(400, f"bad Content-Length {raw_length[:40]!r}", close=True)
            length = int(raw_length)
            if length > cfg.max_body:
                raise HTTPError(
                    413,
                    f"request body of {length} bytes is over {cfg.max_body} (--max-body-mb)",
                    close=True,
                )
        with self._admit(cfg.max_body if length is None else length):
            body = await self._read_body(request, min(cfg.body_timeout, cfg.request_timeout))
            if body is None:
                request.scope["unireward.status"] = _CLOSED_BY_CLIENT
                log.info("client %s went away while sending its body", request.client)
                return Response(status_code=400)
            if len(body) <= _INLINE_PARSE:  # microseconds: not worth a thread hop
                rows = self._rows(endpoint, body)
            else:
                rows = await asyncio.to_thread(self._rows, endpoint, body)
            del body
            job = Job(len(rows), timeout=cfg.request_timeout, loop=asyncio.get_running_loop(),
                      finish=self._finisher(endpoint), started=arrived)
            self._start(job, rows)
            del rows
            return await self._answer(request, job)

    async def _answer(self, request: Request, job: Job) -> Response:
        gone = asyncio.ensure_future(_disconnected(request.receive))
        try:
            left = job.deadline - time.monotonic() + _DEADLINE_SLACK
            done, _ = await asyncio.wait({job.future, gone}, timeout=max(0.0, left),
                                         return_when=asyncio.FIRST_COMPLETED)
            if not done:  # the deadline: answer with what is scored
                await asyncio.to_thread(job.expire)
                done, _ = await asyncio.wait(
                    {job.future, gone}, return_when=asyncio.FIRST_COMPLETED
                )
        except asyncio.CancelledError:  # the server stopped waiting for us (grace exceeded)
            _abandon(job)
            gone.cancel()
            return _error_response(
                503,
                "the server is shutting down; retry on another instance",
                {"retry-after": str(self.config.retry_after), "connection": "close"},
            )
        if job.future not in done:
            _abandon(job)
            request.scope["unireward.status"] = _CLOSED_BY_CLIENT
            log.info(
                "client %s went away before its answer; its waiting work was dropped",
                request.client,
            )
            return Response(status_code=400)
        gone.cancel()
        try:
            payload = job.future.result()
        except RemoteRewardError as exc:
            raise HTTPError(502, f"reward model failed: {exc}") from None
        return Response(payload, media_type="application/json")

    # -- work -------------------------------------------------------------------------
    def _rows(self, endpoint: str, body: bytes | bytearray) -> list[Any]:
        """The request's rows (records, or the reason a row cannot be scored); runs in a thread."""
        cfg = self.config
        need = estimated_parse_bytes(body)
        if need > cfg.max_parse_bytes:
            raise HTTPError(413, f"request would take about {need >> 20} MiB once parsed, over "
                            f"{cfg.max_parse_bytes >> 20} MiB: send fewer records per request")
        try:
            payload = json.loads(body)
        except RecursionError:
            raise HTTPError(400, "the body is JSON nested too deeply") from None
        except ValueError as exc:
            raise HTTPError(400, f"the body is not valid JSON: {exc}"[:300]) from None
        if not isinstance(payload, dict):
            raise HTTPError(400, f"the body must be a JSON object, got {type(payload).__name__}")
        if endpoint == "/score":
            records = payload.get("records")
            if records is None:
                raise HTTPError(400, "missing field 'records' (a list of objects with completion, "
                                "ground_truth and task)")
            if not isinstance(records, list):
                raise HTTPError(400, f"'records' must be a list, got {type(records).__name__}")
            rows: list[Any] = records
        else:
            rows = self._openrlhf_rows(payload)
        if len(rows) > cfg.max_records:
            raise HTTPError(
                413,
                f"{len(rows)} records in one request, over the limit of {cfg.max_records} "
                "(--max-records)",
            )
        return rows

    def _openrlhf_rows(self, payload: dict[str, Any]) -> list[Any]:
        missing = [k for k in ("query", "labels") if payload.get(k) is None]
        if missing:
            raise HTTPError(
                400,
                f"missing field {' and '.join(repr(k) for k in missing)}: /get_reward takes "
                "{'query': [prompt + response, ...], 'prompts': [...], 'labels': [...]}",
            )
        query, labels, prompts = payload["query"], payload["labels"], payload.get("prompts") or []
        for name, value in (("query", query), ("labels", labels), ("prompts", prompts)):
            if not isinstance(value, list):
                raise HTTPError(400, f"'{name}' must be a list, got {type(value).__name__}")
        if len(query) != len(labels) or (prompts and len(prompts) != len(query)):
            raise HTTPError(400, "query, prompts and labels must have one entry per sample (got "
                            f"{len(query)}, {len(prompts)} and {len(labels)})")
        return labels_to_records(
            query, prompts, labels, self.config.default_task, self.config.eos_tokens
        )

    def _lane_of(self, record: Any, cache: dict[Any, str]) -> str:
        from ..tasks.math import MathScorer
        from ..tasks.text import OpenEndedScorer

        task = record.get("task", record.get("problem_type")) if isinstance(record, dict) else None
        if not isinstance(task, str):
            return "rules"
        lane = cache.get(task)
        if lane is None:
            try:
                scorer = get_scorer(task)
            except Exception:  # noqa: BLE001 - the rules lane scores an unknown task (an error row)
                scorer = None
            if isinstance(scorer, MathScorer):
                lane = "math"
            elif isinstance(scorer, OpenEndedScorer) and self.client is not None:
                lane = "remote"
            else:
                lane = "rules"
            cache[task] = lane
        return lane

    def _start(self, job: Job, rows: list[Any]) -> None:
        per_lane: dict[str, list[int]] = {"rules": [], "math": [], "remote": []}
        cache: dict[Any, str] = {}
        for i, row in enumerate(rows):
            if isinstance(row, RowError):
                job.results[i] = error_result(str(row))
            else:
                per_lane[self._lane_of(row, cache)].append(i)
        chunk = self.config.chunk
        plan: list[tuple[Lane, list[Unit]]] = []
        rules = per_lane["rules"]
        plan.append((self.lanes["rules"], [
            Unit(rules[k:k + chunk], [rows[i] for i in rules[k:k + chunk]], self._rules_kwargs)
            for k in range(0, len(rules), chunk)]))
        plan.append(
            (
                self.lanes["math"],
                [
                    Unit([i], [rows[i]], self._rules_kwargs, cut_math_timeout=True)
                    for i in per_lane["math"]
                ],
            )
        )
        if per_lane["remote"]:
            remote = per_lane["remote"]
            plan.append(
                (
                    self.lanes["remote"],
                    [Unit(remote, [rows[i] for i in remote], self._remote_kwargs)],
                )
            )
        total = sum(len(units) for _, units in plan)
        if total == 0:
            job.expect(1)
            job.unit_done(Unit([], [], {}), [])
            return
        job.expect(total)
        for lane, units in plan:
            lane.submit(job, units)

    def _finisher(self, endpoint: str) -> Callable[[list[RewardResult]], bytes]:
        limit = self.config.max_response
        counter = self.metrics.records

        def finish(results: list[RewardResult]) -> bytes:
            tally = Tally(r.status.value for r in results)
            for status, n in tally.items():
                counter.labels(endpoint=endpoint, status=status).inc(n)
            failed = tally["error"] + tally["deadline"]
            if failed:
                first = next(r for r in results if r.status.value in ("error", "deadline"))
                log.warning(
                    "%s: %d of %d rows not scored (%s), e.g. %s",
                    endpoint,
                    failed,
                    len(results),
                    ", ".join(f"{n} {s}" for s, n in tally.items() if s in ("error", "deadline")),
                    first.reason,
                )
            payload = _score_payload(results) if endpoint == "/score" else _reward_payload(results)
            data = json.dumps(payload, allow_nan=False, separators=(",", ":")).encode()
            if len(data) > limit:
                raise HTTPError(
                    413,
                    f"the response would be {len(data) >> 20} MiB, over "
                    f"{limit >> 20} MiB (--max-response-mb): send fewer records per request",
                )
            return data

        return finish


def _score_payload(results: list[RewardResult]) -> dict[str, Any]:
    return {"results": [r.to_dict() for r in results]}


def _reward_payload(results: list[RewardResult]) -> dict[str, Any]:
    return {
        "rewards": [r.total for r in results],
        "scores": [r.accuracy for r in results],
        "extra_logs": {  # numbers only: OpenRLHF turns each list into a tensor
            "accuracy": [r.accuracy for r in results],
            "format": [r.format for r in results],
            "structure": [r.structure for r in results],
            "error": [float(r.status.value in ("error", "deadline")) for r in results],
        },
        "status": [r.status.value for r in results],
        "reason": [r.reason for r in results],
    }


def _abandon(job: Job) -> None:
    """Drop a job nobody waits for any more (its outcome is read so that it is not logged)."""
    job.cancel()
    job.future.add_done_callback(lambda f: f.cancelled() or f.exception())


def _warm_up() -> None:
    """Load the scorers before the first request (otherwise it waits about a second)."""
    from ..api import score_batch
    from ..registry import registered_tasks

    registered_tasks()
    score_batch([{"completion": "<think>t</think><answer>A</answer>", "ground_truth": "A",
                  "task": "multiple choice"}])


async def _disconnected(receive: Receive) -> None:
    """Return once the client has gone (after the body has been read)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def create_app(config: ServerConfig, *, on_ready: Callable[[], None] | None = None) -> Starlette:
    """The ASGI application of ``unireward serve`` (see docs/cli.md for the protocol).

    ``GET /health``, ``GET /metrics`` (Prometheus text), ``POST /get_reward`` (OpenRLHF's
    remote reward protocol) and ``POST /score`` (records in, results out). Every error
    reply is ``{"error": "..."}``. The scoring threads stop with the application.
    ``on_ready`` is called once the application has started (scorers loaded).
    """
    state = RewardApp(config)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPError)
        return _error_response(exc.status, exc.message, exc.headers)

    async def starlette_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: f"no such endpoint: {request.method} {request.url.path}",
                   405: f"method {request.method} not allowed on {request.url.path}"}.get(
                       exc.status_code, str(exc.detail))
        return _error_response(exc.status_code, message, dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error_response(500, f"internal error: {type(exc).__name__}")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(_warm_up)
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            state.close()

    app = Starlette(
        routes=[
            Route("/health", state.health, methods=["GET"]),
            Route("/metrics", state.metrics_endpoint, methods=["GET"]),
            Route("/get_reward", state.get_reward, methods=["POST"]),
            Route("/score", state.score, methods=["POST"]),
        ],
        exception_handlers={
            HTTPError: http_error,
            HTTPException: starlette_error,
            Exception: unexpected,
        },
        lifespan=lifespan,
    )
    app.state.reward_app = state
    app.add_middleware(_Observe, metrics=state.metrics)  # type: ignore[arg-type]
    return app
