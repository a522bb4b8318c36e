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

import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from .._version import __version__
from ..errors import ConfigurationError, UniRewardError, missing_extra
from ..result import TaskOutcome
from ..tasks.base import ScoreOptions
from ._outcomes import complete, error_outcome, outcome_to_json
from .predictor import DEFAULT_CONFIG

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
        if not isinstance(item, dict) or not isinstance(item.get("answer"), str) or "ground_truth" not in item:
            raise _BadRequest(f"items[{i}] must be an object with 'answer' (a string) and 'ground_truth'")
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
    try:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route
    except ImportError as exc:
        raise missing_extra("starlette", "server") from exc
    if isinstance(max_body_mb, bool) or not isinstance(max_body_mb, (int, float)) or not (
            math.isfinite(max_body_mb) and max_body_mb > 0):
        raise ConfigurationError(f"max_body_mb must be a number > 0, got {max_body_mb!r}")
    from .predictor import Sam2MaskPredictor
    from .reward import Sam2MaskReward

    if predictor is None:
        predictor = Sam2MaskPredictor(config, checkpoint, device=device, allow_random_init=allow_random_init,
                                      bf16=bf16, hydra_overrides=hydra_overrides)
    reward = Sam2MaskReward(predictor, mode=mode, mask_weight=mask_weight, video_metric=video_metric,
                            media=media, media_root=media_root, cache_size=cache_size,
                            max_prompts=max_prompts, image_protocol=image_protocol,
                            missing_mask=missing_mask)
    limit = int(max_body_mb * 1024 * 1024)

    async def body(request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _BadRequest(f"request body over {max_body_mb} MB", 413)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _BadRequest(f"request body over {max_body_mb} MB", 413)
            chunks.append(chunk)
        try:
            data = json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError) as exc:
            raise _BadRequest(f"the body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise _BadRequest("the body must be a JSON object")
        return data

    def options_of(data: dict[str, Any], allowed: Sequence[str] | None) -> dict[str, Any]:
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

    def failure(exc: Exception) -> JSONResponse:
        if isinstance(exc, _BadRequest):
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        if isinstance(exc, UniRewardError):
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
        logger.exception("SAM2 service: request failed")
        return JSONResponse({"error": f"{type(exc).__name__}: {exc}"[:1000]}, status_code=500)

    async def health(request: Request) -> JSONResponse:
        import dataclasses

        return JSONResponse({"status": "ok", "version": __version__, "config": predictor.config,
                             "device": predictor.device, "stats": dataclasses.asdict(reward.stats)})

    async def segmentation(request: Request) -> JSONResponse:
        try:
            data = await body(request)
            items = data.get("items")
            if not isinstance(items, list):
                raise _BadRequest("'items' must be a list")
            opts = ScoreOptions(**options_of(data, _TASK_OPTIONS))
            outcomes = await run_in_threadpool(score_items, reward, items, opts)
        except Exception as exc:
            return failure(exc)
        return JSONResponse({"outcomes": outcomes})

    def score_records(records: list[Any], opts: dict[str, Any]) -> list[dict[str, Any]]:
        from ..api import score_batch

        results = score_batch(records, errors="record", extra={"mask_model": reward}, **opts)
        return [_result_json(r) for r in results]

    async def score(request: Request) -> JSONResponse:
        try:
            data = await body(request)
            records = data.get("records")
            if not isinstance(records, list):
                raise _BadRequest("'records' must be a list")
            results = await run_in_threadpool(score_records, records, options_of(data, _RECORD_OPTIONS))
        except Exception as exc:
            return failure(exc)
        return JSONResponse({"results": results})

    async def get_reward(request: Request) -> JSONResponse:
        try:
            data = await body(request)
            query, prompts, labels = data.get("query"), data.get("prompts") or [], data.get("labels")
            if not isinstance(query, list) or not isinstance(labels, list) or not isinstance(prompts, list):
                raise _BadRequest("'query' and 'labels' must be lists ('prompts' too, when given)")
            from ..server._labels import RowError, labels_to_records

            if len(query) != len(labels) or (prompts and len(prompts) != len(query)):
                raise _BadRequest("'query', 'labels' (and 'prompts', when given) need one entry per sample")
            records = labels_to_records(query, prompts, labels, "segmentation")
            bad = [r for r in records if isinstance(r, RowError)]
            if bad:
                raise _BadRequest(str(bad[0]))
            results = await run_in_threadpool(score_records, records, {})
        except Exception as exc:
            return failure(exc)
        return JSONResponse({
            "rewards": [r["reward"] for r in results],
            "scores": [r["accuracy"] for r in results],
            "extra_logs": {k: [float(r[k]) for r in results] for k in ("accuracy", "format", "structure")}
            | {"error": [float(r["status"] == "error") for r in results]},
            "status": [r["status"] for r in results],
            "reason": [r["reason"] for r in results],
        })

    app = Starlette(routes=[
        Route("/health", health, methods=["GET"]),
        Route("/segmentation", segmentation, methods=["POST"]),
        Route("/score", score, methods=["POST"]),
        Route("/get_reward", get_reward, methods=["POST"]),
    ])
    app.state.reward = reward
    app.state.predictor = predictor
    return app
