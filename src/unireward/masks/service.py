"""SAM2 as a scoring service: an ASGI app (Starlette) that holds the model on its own GPU.

``build_sam2_app(config, checkpoint, device)`` returns the app; run it with any ASGI
server (``uvicorn``; ``unireward serve --sam2`` wires it up). Trainers then need neither
torch nor SAM2: :class:`~unireward.masks.Sam2Client` sends them the segmentation items.

Endpoints (JSON in, JSON out):

- ``GET /health`` -> ``{"status": "ok", "version", "config", "device", "stats"}``.
- ``POST /segmentation`` (what :class:`~unireward.masks.Sam2Client` calls):
  ``{"items": [{"answer", "ground_truth", "data_type"}], "options": {"profile": ...}}``
  -> ``{"outcomes": [{"accuracy", "structure", "status", "reason", "details"}]}``; the
  answer is the extracted ``<answer>`` text. A ground truth the server cannot use gets
  status ``error`` and the reason, its neighbours are scored.
- ``POST /score``: ``{"records": [...], "options": {...}}`` -> ``{"results": [...]}``, one
  ``RewardResult.to_dict()`` (plus ``task``, ``issues``, ``details``) per record; every
  task is scored, segmentation by the masks (as the reward server's ``/score``).
- ``POST /get_reward``: OpenRLHF's remote reward protocol, as the reward server's.

Bodies above ``max_body_mb`` get 413; malformed requests 400 with ``{"error": ...}``. The
model runs in a worker thread, one request at a time (the scorer holds a lock), so the
event loop keeps answering ``/health``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import ConfigurationError, UniRewardError, missing_extra
from ..result import TaskOutcome
from ..tasks.base import ScoreOptions
from ._outcomes import complete, error_outcome, outcome_to_json
from .predictor import DEFAULT_CONFIG

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import JSONResponse

__all__ = ["build_sam2_app"]

logger = logging.getLogger("unireward.masks.service")

_TASK_OPTIONS = ("profile",)
_RECORD_OPTIONS = ("profile", "format_weight", "math_timeout")


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _result_json(r: Any) -> dict[str, Any]:
    d = r.to_dict()
    d.update(task=r.task, issues=[s.value for s in r.issues], details=r.details)
    return d


def score_items(reward: Any, items: Sequence[Any], options: ScoreOptions) -> list[dict[str, Any]]:
    """The ``/segmentation`` work: per-item ground truths prepared (a bad one is an error
    outcome), then the usable items scored together."""
    outcomes: list[TaskOutcome | None] = [None] * len(items)
    keep: list[int] = []
    answers: list[str] = []
    truths: list[Any] = []
    dts: list[str | None] = []
    for i, item in enumerate(items):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("answer"), str)
            or "ground_truth" not in item
        ):
            raise _BadRequest(
                f"items[{i}] must be an object with 'answer' (a string) and 'ground_truth'"
            )
        dt = item.get("data_type")
        dt = None if dt is None else str(dt)
        try:
            truths.append(reward.prepare_ground_truth(item["ground_truth"], dt))
        except UniRewardError as exc:
            outcomes[i] = error_outcome(exc)
            continue
        keep.append(i)
        answers.append(item["answer"])
        dts.append(dt)
    if keep:
        for i, o in zip(keep, reward.score_many(answers, truths, dts, options), strict=True):
            outcomes[i] = o
    return [outcome_to_json(o) for o in complete(outcomes)]


def build_sam2_app(
    config: str = DEFAULT_CONFIG,
    checkpoint: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    *,
    allow_random_init: bool = False,
    bf16: bool = False,
    hydra_overrides: Sequence[str] = (),
    mode: str = "mask",
    mask_weight: float = 0.5,
    video_metric: str = "j&f",
    media_root: str | os.PathLike[str] | None = None,
    media: Callable[[str], Any] | None = None,
    cache_size: int = 32,
    max_prompts: int = 64,
    image_protocol: str = "image",
    missing_mask: str = "error",
    max_body_mb: float = 64.0,
    predictor: Any = None,
) -> Any:
    """The SAM2 scoring service as an ASGI app (needs ``unireward[server]`` and
    ``unireward[sam2]``).

    Args:
        config / checkpoint / device / allow_random_init / bf16 / hydra_overrides: the
            :class:`~unireward.masks.Sam2MaskPredictor` to build (ignored when
            ``predictor`` is given).
        mode / mask_weight / video_metric / media_root / media / cache_size / max_prompts /
            image_protocol / missing_mask: the :class:`~unireward.masks.Sam2MaskReward`
            options (media paths are read on the server, relative to ``media_root``).
        max_body_mb: the largest request body accepted.
        predictor: an already built predictor to serve.

    Raises:
        unireward.errors.ConfigurationError: an invalid option, checkpoint or config.
        unireward.errors.MissingExtraError: starlette, torch or sam2 is not installed.

    Example::

        app = build_sam2_app("configs/sam2.1/sam2.1_hiera_t.yaml",
                             checkpoint="/models/sam2.1_hiera_tiny.pt", device="cuda")
        uvicorn.run(app, host="0.0.0.0", port=8010)
    """
    _require_starlette()
    if isinstance(max_body_mb, bool) or not isinstance(max_body_mb, (int, float)) or not (
            math.isfinite(max_body_mb) and max_body_mb > 0):
        raise ConfigurationError(f"max_body_mb must be a number > 0, got {max_body_mb!r}")
    from .predictor import Sam2MaskPredictor
    from .reward import Sam2MaskReward

    if predictor is None:
        predictor = Sam2MaskPredictor(config, checkpoint, device=device,
                                      allow_random_init=allow_random_init, bf16=bf16,
                                      hydra_overrides=hydra_overrides)
    reward = Sam2MaskReward(predictor, mode=mode, mask_weight=mask_weight,
                            video_metric=video_metric, media=media, media_root=media_root,
                            cache_size=cache_size, max_prompts=max_prompts,
                            image_protocol=image_protocol, missing_mask=missing_mask)
    return _Sam2Service(reward, predictor, max_body_mb).app()


def _require_starlette() -> None:
    try:
        import starlette  # noqa: F401
    except ImportError as exc:
        raise missing_extra("starlette", "server") from exc


# -- request pieces -------------------------------------------------------------------------


async def _read_json(request: Request, max_body_mb: float) -> dict[str, Any]:
    """The request's JSON object, read up to ``max_body_mb`` (413 beyond, 400 if not JSON)."""
    limit = int(max_body_mb * 1024 * 1024)
    too_big = _BadRequest(f"request body over {max_body_mb} MB", 413)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _BadRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise _BadRequest("the body must be a JSON object")
    return data


def _options_of(data: dict[str, Any], allowed: Sequence[str] | None) -> dict[str, Any]:
    """The body's ``options``, limited to ``allowed`` (``extra`` never travels)."""
    opts = data.get("options") or {}
    if not isinstance(opts, dict):
        raise _BadRequest("'options' must be an object")
    if allowed is not None:
        unknown = sorted(set(opts) - set(allowed))
        if unknown:
            raise _BadRequest(f"unknown option(s) {unknown}; this endpoint takes {list(allowed)}")
    if "extra" in opts:
        raise _BadRequest("'extra' cannot be sent to the server")
    return opts


def _list_field(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise _BadRequest(f"'{key}' must be a list")
    return value


def _openrlhf_records(data: dict[str, Any]) -> list[Any]:
    """The segmentation records of an OpenRLHF ``/get_reward`` body."""
    from ..server._labels import RowError, labels_to_records

    query, prompts, labels = data.get("query"), data.get("prompts") or [], data.get("labels")
    if not (isinstance(query, list) and isinstance(labels, list) and isinstance(prompts, list)):
        raise _BadRequest("'query' and 'labels' must be lists ('prompts' too, when given)")
    if len(query) != len(labels) or (prompts and len(prompts) != len(query)):
        raise _BadRequest(
            "'query', 'labels' (and 'prompts', when given) need one entry per sample")
    records = labels_to_records(query, prompts, labels, "segmentation")
    bad = [r for r in records if isinstance(r, RowError)]
    if bad:
        raise _BadRequest(str(bad[0]))
    return records


def _openrlhf_answer(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``/get_reward`` answer for scored records (``_result_json`` rows)."""
    logs = {k: [float(r[k]) for r in results] for k in ("accuracy", "format", "structure")}
    logs["error"] = [float(r["status"] == "error") for r in results]
    return {
        "rewards": [r["reward"] for r in results],
        "scores": [r["accuracy"] for r in results],
        "extra_logs": logs,
        "status": [r["status"] for r in results],
        "reason": [r["reason"] for r in results],
    }


def _failure(exc: Exception) -> JSONResponse:
    """The JSON error answer for what a handler raised (400 for our errors, else 500)."""
    from starlette.responses import JSONResponse

    if isinstance(exc, _BadRequest):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    if isinstance(exc, UniRewardError):
        return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
    logger.exception("SAM2 service: request failed")
    return JSONResponse({"error": f"{type(exc).__name__}: {exc}"[:1000]}, status_code=500)


# -- the app --------------------------------------------------------------------------------


class _Sam2Service:
    """The endpoints over one :class:`~unireward.masks.Sam2MaskReward` and its predictor."""

    def __init__(self, reward: Any, predictor: Any, max_body_mb: float) -> None:
        self.reward = reward
        self.predictor = predictor
        self.max_body_mb = max_body_mb

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.routing import Route

        app = Starlette(routes=[
            Route("/health", self.health, methods=["GET"]),
            Route("/segmentation", self._json_endpoint(self.segmentation), methods=["POST"]),
            Route("/score", self._json_endpoint(self.score), methods=["POST"]),
            Route("/get_reward", self._json_endpoint(self.get_reward), methods=["POST"]),
        ])
        app.state.reward = self.reward
        app.state.predictor = self.predictor
        return app

    def _json_endpoint(self, handle: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
                       ) -> Callable[[Request], Awaitable[JSONResponse]]:
        """An endpoint that reads the JSON body, answers ``handle``'s result as JSON, and
        any failure as a JSON error."""
        from starlette.responses import JSONResponse

        async def endpoint(request: Request) -> JSONResponse:
            try:
                answer = await handle(await _read_json(request, self.max_body_mb))
            except Exception as exc:
                return _failure(exc)
            return JSONResponse(answer)

        return endpoint

    async def health(self, request: Request) -> JSONResponse:
        from starlette.responses import JSONResponse

        return JSONResponse({"status": "ok", "version": __version__,
                             "config": self.predictor.config, "device": self.predictor.device,
                             "stats": dataclasses.asdict(self.reward.stats)})

    async def segmentation(self, data: dict[str, Any]) -> dict[str, Any]:
        from starlette.concurrency import run_in_threadpool

        items = _list_field(data, "items")
        opts = ScoreOptions(**_options_of(data, _TASK_OPTIONS))
        return {"outcomes": await run_in_threadpool(score_items, self.reward, items, opts)}

    async def score(self, data: dict[str, Any]) -> dict[str, Any]:
        from starlette.concurrency import run_in_threadpool

        records = _list_field(data, "records")
        opts = _options_of(data, _RECORD_OPTIONS)
        return {"results": await run_in_threadpool(self.score_records, records, opts)}

    async def get_reward(self, data: dict[str, Any]) -> dict[str, Any]:
        from starlette.concurrency import run_in_threadpool

        records = _openrlhf_records(data)
        return _openrlhf_answer(await run_in_threadpool(self.score_records, records, {}))

    def score_records(self, records: list[Any], opts: dict[str, Any]) -> list[dict[str, Any]]:
        from ..api import score_batch

        results = score_batch(records, errors="record", extra={"mask_model": self.reward},
                              **opts)
        return [_result_json(r) for r in results]
