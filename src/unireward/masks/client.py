"""A client for the SAM2 scoring service (:func:`unireward.masks.build_sam2_app`).

:class:`Sam2Client` is a segmentation scorer that sends the work to the service, so a
trainer scores mask rewards without torch or SAM2::

    client = Sam2Client(base_url="http://sam2-host:8010")
    score_batch(records, extra={"mask_model": client})

It uses the POLAR client's machinery (:mod:`unireward.remote`): the same error tree and
mapping of transport failures, retries with capped exponential backoff and jitter on
connection errors, timeouts and HTTP 5xx (never on 4xx or malformed answers), and the
same counters (``client.stats``; ``texts_scored`` counts scored items). Batches of
``batch_size`` items go out ``max_concurrency`` at a time.

Failure policy, as for the reward model: with ``fallback=None`` a batch that still fails
raises its :class:`~unireward.errors.RemoteRewardError`; with ``fallback="points"`` its
items get the point-kernel reward (their ground truth's box and points; 0 without them)
with status ``fallback`` and the error as the reason, counted in
``stats.fallback_samples``. Never a silent value.

The client pickles (its connections are rebuilt in the new process), so it can travel in
a TRL reward function's options.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from ..errors import (
    ConfigurationError,
    GroundTruthError,
    RemoteProtocolError,
    RemoteRewardError,
    RemoteStatusError,
)
from ..remote._base import (
    RequestInfo,
    _check_int,
    _check_seconds,
    _CountedEndpoint,
    _Counters,
    _map_transport_error,
    _normalize_base_url,
    _PolarBase,
)
from ..result import Status, TaskOutcome
from ..schemas import truth_object
from ..tasks.base import BatchScorer, ScoreOptions
from ..tasks.segmentation import SegmentationScorer

__all__ = ["Sam2Client"]

_FALLBACKS = (None, "points")
_POINT_FIELDS = ("boxes", "positive_points", "negative_points")
_STATUSES = {s.value: s for s in Status}


class _RemoteTruth:
    """A ground truth to send (its JSON object) and, for the fallback, its point truth."""

    __slots__ = ("obj", "points")

    def __init__(self, obj: dict[str, Any], points: Any) -> None:
        self.obj = obj
        self.points = points


class Sam2Client(_CountedEndpoint, BatchScorer):
    """Segmentation scored by a SAM2 service (see the module docstring).

    Args:
        base_url: the service, e.g. ``"http://127.0.0.1:8010"``.
        batch_size: items per request.
        max_concurrency: requests in flight at once.
        timeout: seconds (or an ``httpx.Timeout``) per request phase; SAM2 on a busy
            GPU can take a while, hence 120 s.
        max_retries: extra attempts after the first.
        backoff / backoff_max: the first and the longest retry delay, in seconds.
        fallback: ``None`` (raise) or ``"points"`` (see above).
        headers: extra HTTP headers.
        trust_env: read proxy settings from the environment (off by default).
        transport: an ``httpx.BaseTransport`` (tests, custom I/O; not pickled).

    Raises:
        unireward.errors.ConfigurationError: an invalid option.
    """

    name = "segmentation"
    structured = True

    _delay = _PolarBase._delay  # the POLAR client's backoff and retry decision
    _give_up = _PolarBase._give_up

    def __init__(
        self,
        *,
        base_url: str,
        batch_size: int = 64,
        max_concurrency: int = 4,
        timeout: float | httpx.Timeout = 120.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        backoff_max: float = 4.0,
        fallback: str | None = None,
        headers: Mapping[str, str] | None = None,
        trust_env: bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if fallback not in _FALLBACKS:
            raise ConfigurationError(f"fallback must be None or 'points', got {fallback!r}")
        if transport is not None and not isinstance(transport, httpx.BaseTransport):
            raise ConfigurationError("transport must be an httpx.BaseTransport")
        self._config = {
            "base_url": base_url, "batch_size": batch_size, "max_concurrency": max_concurrency,
            "timeout": timeout, "max_retries": max_retries, "backoff": backoff,
            "backoff_max": backoff_max, "fallback": fallback, "headers": dict(headers or {}),
            "trust_env": trust_env,
        }
        self.base_url = _normalize_base_url(base_url)
        self.batch_size = _check_int("batch_size", batch_size, 1)
        self.max_concurrency = _check_int("max_concurrency", max_concurrency, 1)
        self.max_retries = _check_int("max_retries", max_retries, 0)
        self.backoff = _check_seconds("backoff", backoff)
        self.backoff_max = _check_seconds("backoff_max", backoff_max)
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(_check_seconds("timeout", timeout))
        self.fallback = fallback
        self._url = self.base_url + "/segmentation"
        self._counters = _Counters()
        self._rng = random.Random()
        self._points = SegmentationScorer()
        limits = httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)
        self._http = httpx.Client(timeout=self.timeout, headers=dict(headers or {}), trust_env=bool(trust_env),
                                  limits=limits, transport=transport, follow_redirects=False)

    def __repr__(self) -> str:
        return f"Sam2Client(base_url={self.base_url!r}, batch_size={self.batch_size}, fallback={self.fallback!r})"

    def __getstate__(self) -> dict[str, Any]:
        return dict(self._config)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __enter__(self) -> Sam2Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    # -- the scorer interface ---------------------------------------------------------

    def prepare_ground_truth(self, ground_truth: Any, data_type: str | None) -> _RemoteTruth:
        """The ground truth as JSON to send (arrays cannot travel: use paths or ids)."""
        obj = truth_object(ground_truth, self.name)
        try:
            json.dumps(obj, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise GroundTruthError(
                f"a segmentation ground truth sent to the SAM2 service must be plain JSON "
                f"(give images, frames and masks as paths, ids or RLE): {exc}"
            ) from exc
        points = None
        if (data_type or "").lower() in ("image", "video") and any(k in obj for k in _POINT_FIELDS):
            points = self._points.prepare_ground_truth(obj, data_type)
        return _RemoteTruth(obj, points)

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        items = [{"answer": a, "ground_truth": t.obj, "data_type": d}
                 for a, t, d in zip(answers, truths, data_types, strict=True)]
        chunks = [list(range(i, min(i + self.batch_size, len(items)))) for i in range(0, len(items), self.batch_size)]
        payloads = [{"items": [items[i] for i in c], "options": {"profile": options.profile}} for c in chunks]
        if len(payloads) <= 1 or self.max_concurrency == 1:
            results = [self._try(p) for p in payloads]
        else:
            with ThreadPoolExecutor(min(self.max_concurrency, len(payloads))) as pool:
                results = list(pool.map(self._try, payloads))
        out: list[TaskOutcome] = []
        for idx, res in zip(chunks, results, strict=True):
            if isinstance(res, RemoteRewardError):
                if self.fallback is None:
                    raise res
                out.extend(self._fallback(idx, res, answers, truths, data_types, options))
            else:
                out.extend(res)
        return out

    # -- HTTP ---------------------------------------------------------------------------

    def _fallback(self, idx: list[int], err: RemoteRewardError, answers: Sequence[str], truths: Sequence[Any],
                  data_types: Sequence[str | None], options: ScoreOptions) -> list[TaskOutcome]:
        reason = f"SAM2 service failed ({type(err).__name__}: {err}); point-kernel reward used instead"[:500]
        self._counters.add(fallback_samples=len(idx))
        out = []
        for i in idx:
            t = truths[i]
            if t.points is None:
                out.append(TaskOutcome(0.0, 0.0, Status.FALLBACK, reason))
                continue
            o = self._points.score(answers[i], t.points, data_type=data_types[i], options=options)
            out.append(TaskOutcome(o.accuracy, o.structure, Status.FALLBACK, reason, o.details))
        return out

    def _try(self, payload: dict[str, Any]) -> list[TaskOutcome] | RemoteRewardError:
        try:
            return self._post(payload)
        except RemoteRewardError as err:
            return err

    def _post(self, payload: dict[str, Any]) -> list[TaskOutcome]:
        n = len(payload["items"])
        info = RequestInfo(method="POST", url=self._url, backend="sam2", n_texts=n)
        attempt = 0
        while True:
            attempt += 1
            self._counters.add(requests=1)
            cause: BaseException
            try:
                response = self._http.post(self._url, json=payload)
            except httpx.HTTPError as exc:
                err = _map_transport_error(exc, info)
                cause = exc
            else:
                try:
                    outcomes = self._read(response, n, info)
                except RemoteRewardError as exc:
                    err, cause = exc, exc
                else:
                    self._counters.add(texts_scored=n)
                    return outcomes
            if self._give_up(err, info, attempt):  # type: ignore[misc]
                if err is not cause:
                    raise err from cause
                raise err
            time.sleep(self._delay(attempt))  # type: ignore[misc]

    @staticmethod
    def _read(response: httpx.Response, n: int, info: RequestInfo) -> list[TaskOutcome]:
        status = response.status_code
        if not 200 <= status <= 299:
            snippet = response.text[:200] if response.content else ""
            raise RemoteStatusError(f"POST {info.url} answered HTTP {status}" + (f": {snippet}" if snippet else ""),
                                    status_code=status, request=info)
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RemoteProtocolError(f"POST {info.url} answered with invalid JSON: {exc}", request=info) from exc
        rows = body.get("outcomes") if isinstance(body, dict) else None
        if not isinstance(rows, list) or len(rows) != n:
            got = len(rows) if isinstance(rows, list) else "no 'outcomes' list"
            raise RemoteProtocolError(f"sent {n} items but got {got}", request=info)
        out = []
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise RemoteProtocolError(f"outcome {i} is not an object", request=info)
            acc, st = row.get("accuracy"), row.get("structure")
            for label, v in (("accuracy", acc), ("structure", st)):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise RemoteProtocolError(f"outcome {i}: {label} must be a finite number, got {v!r}", request=info)
            status_value = _STATUSES.get(row.get("status"))  # type: ignore[arg-type]
            reason, details = row.get("reason"), row.get("details")
            if status_value is None or not (reason is None or isinstance(reason, str)) or not (
                    details is None or isinstance(details, dict)):
                raise RemoteProtocolError(f"outcome {i}: bad status, reason or details", request=info)
            out.append(TaskOutcome(float(acc), float(st), status_value, reason, details))  # type: ignore[arg-type]
        return out
