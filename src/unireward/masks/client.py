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

import dataclasses
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from ..errors import (
    ConfigurationError,
    GroundTruthError,
    RemoteProtocolError,
    RemoteRewardError,
)
from ..remote._base import RequestInfo, _RetryingEndpoint, json_body
from ..remote._config import ClientConfig, resolve_config
from ..result import TaskOutcome
from ..schemas import truth_object
from ..tasks.base import ScoreOptions, TaskScorer
from ..tasks.segmentation import SegmentationScorer
from ._outcomes import failure_reason, fallback_outcome, outcome_from_json

__all__ = ["Sam2Client", "Sam2ClientConfig"]

_FALLBACKS = (None, "points")
_POINT_FIELDS = ("boxes", "positive_points", "negative_points")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sam2ClientConfig(ClientConfig):
    """The options of :class:`Sam2Client` (frozen; checked when made): those of
    :class:`~unireward.remote.ClientConfig` with the SAM2 service's defaults, and:

    Attributes:
        fallback: ``None`` (a failed batch raises) or ``"points"`` (its items get the
            point-kernel reward, status ``fallback``).
    """

    timeout: float | httpx.Timeout = 120.0
    max_retries: int = 3
    backoff: float = 0.5
    backoff_max: float = 4.0
    max_concurrency: int | None = 4
    fallback: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fallback not in _FALLBACKS:
            raise ConfigurationError(
                f"fallback must be None or 'points', got {self.fallback!r}")


class _RemoteTruth:
    """A ground truth to send (its JSON object) and, for the fallback, its point truth."""

    __slots__ = ("obj", "points")

    def __init__(self, obj: dict[str, Any], points: Any) -> None:
        self.obj = obj
        self.points = points


class Sam2Client(_RetryingEndpoint, TaskScorer):
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
        config: a :class:`Sam2ClientConfig` holding the options above but ``transport``
            (the keywords are then left out).

    The options are checked by :class:`Sam2ClientConfig`, with the same checks and messages
    as the POLAR clients' (:class:`~unireward.remote.ClientConfig`).

    Raises:
        unireward.errors.ConfigurationError: an invalid option.
    """

    name = "segmentation"
    structured = True
    _default_concurrency = 4

    config: Sam2ClientConfig

    def __init__(
        self,
        *,
        base_url: str | None = None,
        batch_size: int = 64,
        max_concurrency: int | None = 4,
        timeout: float | httpx.Timeout = 120.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        backoff_max: float = 4.0,
        fallback: str | None = None,
        headers: Mapping[str, str] | None = None,
        trust_env: bool = False,
        transport: httpx.BaseTransport | None = None,
        config: Sam2ClientConfig | None = None,
    ) -> None:
        self._build(resolve_config(Sam2ClientConfig, config, locals()), transport)

    def _build(self, config: Sam2ClientConfig, transport: httpx.BaseTransport | None) -> None:
        if transport is not None and not isinstance(transport, httpx.BaseTransport):
            raise ConfigurationError("transport must be an httpx.BaseTransport")
        self._start(config, "/segmentation")
        self._points = SegmentationScorer()
        self._http = httpx.Client(timeout=self.timeout, headers=config.header_dict(),
                                  trust_env=self.trust_env, limits=self._limits(),
                                  transport=transport, follow_redirects=False)

    @property
    def fallback(self) -> str | None:
        """``None`` or ``"points"`` (see the module docstring)."""
        return self.config.fallback

    def __repr__(self) -> str:
        return (f"Sam2Client(base_url={self.base_url!r}, batch_size={self.batch_size}, "
                f"fallback={self.fallback!r})")

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "config" not in state:  # pickled by an earlier version: its keyword options
            state = {"config": Sam2ClientConfig(**state)}
        self._build(state["config"], None)

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
        if (data_type or "").lower() in ("image", "video") and any(
                k in obj for k in _POINT_FIELDS):
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
        b = self.batch_size
        chunks = [list(range(i, min(i + b, len(items)))) for i in range(0, len(items), b)]
        payloads = [{"items": [items[i] for i in c], "options": {"profile": options.profile}}
                    for c in chunks]
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

    def _fallback(self, idx: list[int], err: RemoteRewardError, answers: Sequence[str],
                  truths: Sequence[Any], data_types: Sequence[str | None],
                  options: ScoreOptions) -> list[TaskOutcome]:
        reason = failure_reason(err, "SAM2 service failed ({}); point-kernel reward used instead")
        self.count_fallback(len(idx))
        out = []
        for i in idx:
            points = truths[i].points
            base = None if points is None else self._points.score(
                answers[i], points, data_type=data_types[i], options=options)
            out.append(fallback_outcome(base, reason))
        return out

    def _try(self, payload: dict[str, Any]) -> list[TaskOutcome] | RemoteRewardError:
        try:
            return self._post(payload)
        except RemoteRewardError as err:
            return err

    def _post(self, payload: dict[str, Any]) -> list[TaskOutcome]:
        info = self._info(len(payload["items"]), "sam2")
        return self._post_sync(self._http, payload, info, self._read)

    @staticmethod
    def _read(response: httpx.Response, info: RequestInfo) -> list[TaskOutcome]:
        body = json_body(response, info)
        n = info.n_texts
        rows = body.get("outcomes") if isinstance(body, dict) else None
        if not isinstance(rows, list) or len(rows) != n:
            got = len(rows) if isinstance(rows, list) else "no 'outcomes' list"
            raise RemoteProtocolError(f"sent {n} items but got {got}", request=info)
        return [outcome_from_json(row, i, info) for i, row in enumerate(rows)]
