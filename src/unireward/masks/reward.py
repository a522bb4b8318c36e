"""The mask reward: a segmentation answer scored by the mask its prompts make SAM2 produce.

:class:`Sam2MaskReward` is a task scorer for ``segmentation`` records whose ground truth
carries the true mask (see :mod:`unireward.masks.truth` for the fields). It is switched on
per call, never globally::

    reward = Sam2MaskReward(Sam2MaskPredictor(checkpoint="sam2.1_hiera_tiny.pt", device="cuda"))
    score_batch(records, extra={"mask_model": reward})

Without ``mask_model`` the built-in point-kernel reward scores segmentation as before.

Accuracy:

* image: the mask IoU of the predicted and the true mask;
* video: J&F (default) or J over all frames (``video_metric``);
* ``mode="mask"`` (default): that value; ``mode="mix"``:
  ``mask_weight * mask + (1 - mask_weight) * point-kernel accuracy`` (the built-in
  formula, which needs the truth's box and points).

Structure, statuses and reasons are those of the built-in segmentation scorer (the same
answer checks). An answer that cannot be used (malformed JSON, wrong structure, NaN) gets
no SAM2 call and a mask term of 0, even against an empty true mask.

Built for GRPO batches: the rollouts of one image share its SAM2 embedding. It is computed
once (then kept in a bounded LRU cache by media key) and the rollouts' prompts go through
the prompt decoder in batches (two decoder calls per batch of up to ``max_prompts``). A
video's frames are loaded once per batch; the rollouts that share a key frame are tracked
together as objects of one SAM2 state (SAM2 tracks objects independently).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ConfigurationError, GroundTruthError, InputError
from ..geometry.masks import BOUNDARY_TOLERANCE, mask_iou, video_mask_scores
from ..result import Status, TaskOutcome
from ..schemas import truth_object
from ..tasks.base import ScoreOptions, TaskScorer
from ..tasks.segmentation import SegmentationScorer, SegmentationTruth
from ._outcomes import complete, error_outcome
from .prompts import GridAnswer, keyframe_index, parse_segmentation_answer, prompt_from_answer
from .truth import MaskTruth, load_image, load_video, prepare_mask_truth

__all__ = ["MODES", "VIDEO_METRICS", "MaskRewardStats", "Sam2MaskReward"]

logger = logging.getLogger("unireward.masks")

MODES = ("mask", "mix")
VIDEO_METRICS = ("j&f", "j")
_POINT_FIELDS = ("boxes", "positive_points", "negative_points")
#: What the built-in scorer gets for a truth without box and points: its structure and
#: statuses are read, its accuracy is not.
_NO_POINTS = SegmentationTruth((0.0, 0.0, 0.0, 0.0), ((0.0, 0.0),) * 3, ((0.0, 0.0),) * 3, 0.0)


def _no_mask_details(truth: MaskTruth) -> dict[str, Any]:
    """The details of an answer that made no mask."""
    if truth.video:
        return {"J": 0.0, "F": 0.0, "J&F": 0.0, "keyframe": None}
    return {"mask_iou": 0.0}


@dataclasses.dataclass(frozen=True)
class MaskRewardStats:
    """Counters of a :class:`Sam2MaskReward` (``reward.stats``).

    Attributes:
        encoder_passes: image embeddings computed (cache misses).
        cache_hits: image groups served from the embedding cache.
        decoder_calls: batched prompt-decoder calls (two per batch of prompts).
        prompts_decoded: image prompts decoded.
        video_states: videos loaded into a SAM2 state.
        video_tracks: propagations (one per key frame and batch of rollouts).
        cached: embeddings in the cache now.
        cached_bytes: bytes they hold.
    """

    encoder_passes: int = 0
    cache_hits: int = 0
    decoder_calls: int = 0
    prompts_decoded: int = 0
    video_states: int = 0
    video_tracks: int = 0
    cached: int = 0
    cached_bytes: int = 0


_COUNTERS = ("encoder_passes", "cache_hits", "decoder_calls", "prompts_decoded",
             "video_states", "video_tracks")


def _check_options(predictor: Any, *, mode: str, mask_weight: float, video_metric: str,
                   media: Any, cache_size: int, max_prompts: int, image_protocol: str,
                   missing_mask: str) -> None:
    """Raise a ConfigurationError naming the first invalid option of Sam2MaskReward."""
    choices = (("mode", mode, MODES), ("video_metric", video_metric, VIDEO_METRICS),
               ("image_protocol", image_protocol, ("image", "video")),
               ("missing_mask", missing_mask, ("error", "points")))
    for label, value, allowed in choices:
        if value not in allowed:
            raise ConfigurationError(f"{label} must be one of {allowed}, got {value!r}")
    if isinstance(mask_weight, bool) or not isinstance(mask_weight, (int, float)) or not (
            0.0 <= mask_weight <= 1.0):
        raise ConfigurationError(f"mask_weight must be a number in [0, 1], got {mask_weight!r}")
    if media is not None and not callable(media):
        raise ConfigurationError(
            f"media must be a callable id -> image or video, got {type(media).__name__}")
    for label, number, low in (("cache_size", cache_size, 0), ("max_prompts", max_prompts, 1)):
        if isinstance(number, bool) or not isinstance(number, int) or number < low:
            raise ConfigurationError(f"{label} must be an int >= {low}, got {number!r}")
    for attr in ("embed_image", "decode", "video_state", "track"):
        if not callable(getattr(predictor, attr, None)):
            raise ConfigurationError(
                f"predictor must be a Sam2MaskPredictor, got {type(predictor).__name__}")


class Sam2MaskReward(TaskScorer):
    """The segmentation task scored by SAM2 masks (see the module docstring).

    Args:
        predictor: a :class:`~unireward.masks.Sam2MaskPredictor` (its device, precision
            and model are used).
        mode: ``"mask"`` (accuracy = the mask measure) or ``"mix"``.
        mask_weight: the mask measure's weight with ``mode="mix"``.
        video_metric: ``"j&f"`` or ``"j"``.
        media: a resolver ``id -> image or video`` (an array, a path, or a list of frame
            paths) for ground truths that give ``image_id`` / ``video_id`` only.
        media_root: the folder relative paths (images, frames, PNG masks) are taken from.
        cache_size: how many image embeddings to keep (least recently used dropped first;
            0 keeps none beyond the batch). About 17 MB each at SAM2's 1024-pixel input.
        max_prompts: prompts per decoder call (and objects per video propagation).
        image_protocol: ``"image"`` (SAM2's image predictor, embedding cached) or
            ``"video"`` (an image as a one-frame video, as the reference evaluation runs it).
        missing_mask: ``"error"`` (a segmentation truth without a mask is a ground-truth
            error) or ``"points"`` (it is scored by the point-kernel reward).
        tolerance: the boundary tolerance of F (fraction of the image diagonal).

    Raises:
        unireward.errors.ConfigurationError: an invalid option.
    """

    name = "segmentation"
    structured = True

    def __init__(
        self,
        predictor: Any,
        *,
        mode: str = "mask",
        mask_weight: float = 0.5,
        video_metric: str = "j&f",
        media: Callable[[str], Any] | None = None,
        media_root: str | os.PathLike[str] | None = None,
        cache_size: int = 32,
        max_prompts: int = 64,
        image_protocol: str = "image",
        missing_mask: str = "error",
        tolerance: float = BOUNDARY_TOLERANCE,
    ) -> None:
        _check_options(predictor, mode=mode, mask_weight=mask_weight,
                       video_metric=video_metric, media=media, cache_size=cache_size,
                       max_prompts=max_prompts, image_protocol=image_protocol,
                       missing_mask=missing_mask)
        self.predictor = predictor
        self.mode = mode
        self.mask_weight = float(mask_weight)
        self.video_metric = video_metric
        self.media = media
        self.media_root = None if media_root is None else os.fspath(media_root)
        self.cache_size = cache_size
        self.max_prompts = max_prompts
        self.image_protocol = image_protocol
        self.missing_mask = missing_mask
        self.tolerance = float(tolerance)
        self._points = SegmentationScorer()
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._counts = dict.fromkeys(_COUNTERS, 0)
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return (f"Sam2MaskReward({self.predictor!r}, mode={self.mode!r}, "
                f"video_metric={self.video_metric!r}, cache_size={self.cache_size})")

    # -- cache and counters -----------------------------------------------------------

    @property
    def stats(self) -> MaskRewardStats:
        """A snapshot of the counters and the cache's size."""
        with self._lock:
            return MaskRewardStats(**self._counts, cached=len(self._cache),
                                   cached_bytes=sum(e.nbytes for e in self._cache.values()))

    def reset_stats(self) -> None:
        """Set the counters back to 0 (the cache is kept)."""
        with self._lock:
            for k in self._counts:
                self._counts[k] = 0

    def clear_cache(self) -> None:
        """Drop every cached embedding."""
        with self._lock:
            self._cache.clear()

    def _embedding(self, truth: MaskTruth) -> Any:
        """The image embedding of ``truth``'s media: from the LRU cache, or one encoder pass."""
        key = truth.key
        emb = self._cache.get(key)
        if emb is not None:
            self._cache.move_to_end(key)
            self._counts["cache_hits"] += 1
        else:
            emb = self.predictor.embed_image(load_image(truth.media, self.media_root))
            self._counts["encoder_passes"] += 1
            if self.cache_size:
                self._cache[key] = emb
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return emb

    # -- the scorer interface ---------------------------------------------------------

    def prepare_ground_truth(self, ground_truth: Any, data_type: str | None) -> Any:
        """A :class:`~unireward.masks.truth.MaskTruth` (mask decoded at the media's size),
        or the point-kernel truth for a truth without a mask when ``missing_mask="points"``."""
        kind = (data_type or "").lower()
        obj = truth_object(ground_truth, self.name)
        video = kind == "video"
        has_points = any(k in obj for k in _POINT_FIELDS)
        points = self._points.prepare_ground_truth(obj, data_type) if has_points else None
        if kind not in ("image", "video"):
            return points if points is not None else _NO_POINTS  # scored 0 by the built-in rule
        if ("masks" if video else "mask") not in obj:
            if self.missing_mask == "points" and points is not None:
                return points
            hint = "" if self.missing_mask == "points" else (
                " (missing_mask='points' scores such truths by the point kernels)")
            raise GroundTruthError(
                f"segmentation ground truth has no {'masks' if video else 'mask'} "
                f"for the mask reward{hint}")
        if self.mode == "mix" and points is None:
            raise GroundTruthError(
                "mode='mix' needs the ground truth's boxes, positive_points and negative_points"
            )
        return prepare_mask_truth(obj, video, points, self.media_root, self.media)

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        n = len(answers)
        point_truths = [t.points or _NO_POINTS if isinstance(t, MaskTruth) else t for t in truths]
        base = self._points.score_many(answers, point_truths, data_types, options)
        out: list[TaskOutcome | None] = [None] * n
        usable: dict[str, list[tuple[int, GridAnswer]]] = {}
        for i, (answer, truth) in enumerate(zip(answers, truths, strict=True)):
            if not isinstance(truth, MaskTruth):  # no mask: the point-kernel reward as is
                out[i] = base[i]
                continue
            g, status, reason = parse_segmentation_answer(answer, video=truth.video)
            if g is None:
                b = base[i]
                mix = (1.0 - self.mask_weight) * b.accuracy if self.mode == "mix" else 0.0
                out[i] = TaskOutcome(
                    mix,
                    b.structure,
                    b.status if b.status is not Status.OK else status,
                    b.reason or reason,
                    _no_mask_details(truth),
                )
                continue
            usable.setdefault(truth.key, []).append((i, g))
        for rows in usable.values():
            try:
                with self._lock:
                    scored = self._score_group(rows, truths)
            except (GroundTruthError, InputError, OSError) as exc:
                logger.warning(
                    "mask reward: media %s could not be used: %s", truths[rows[0][0]].key, exc
                )
                for i, _ in rows:
                    out[i] = error_outcome(exc)
                continue
            for i, (value, details) in scored.items():
                b = base[i]
                acc = (
                    value
                    if self.mode == "mask"
                    else self.mask_weight * value + (1.0 - self.mask_weight) * b.accuracy
                )
                out[i] = TaskOutcome(acc, b.structure, b.status, b.reason, details)
        return complete(out)

    # -- SAM2 ---------------------------------------------------------------------------

    def _score_group(
        self, rows: list[tuple[int, GridAnswer]], truths: Sequence[Any]
    ) -> dict[int, tuple[float, dict[str, Any]]]:
        """The mask measure of the usable answers on one image or video."""
        first: MaskTruth = truths[rows[0][0]]
        if first.video:
            return self._score_video(rows, truths, first)
        if self.image_protocol == "video":
            frames = load_image(first.media, self.media_root)[None]
            return self._score_video(rows, truths, first, frames=frames)
        emb = self._embedding(first)
        h, w = emb.hw
        result: dict[int, tuple[float, dict[str, Any]]] = {}
        for start in range(0, len(rows), self.max_prompts):
            chunk = rows[start:start + self.max_prompts]
            masks = self.predictor.decode(emb, [prompt_from_answer(g, w, h) for _, g in chunk])
            self._counts["decoder_calls"] += 2
            self._counts["prompts_decoded"] += len(chunk)
            for (i, _), m in zip(chunk, masks, strict=True):
                iou = float(mask_iou(m, truths[i].mask))
                result[i] = (iou, {"mask_iou": iou})
        return result

    def _score_video(
        self,
        rows: list[tuple[int, GridAnswer]],
        truths: Sequence[Any],
        first: MaskTruth,
        frames: Any = None,
    ) -> dict[int, tuple[float, dict[str, Any]]]:
        video = frames if frames is not None else load_video(first.media, self.media_root)
        result: dict[int, tuple[float, dict[str, Any]]] = {}
        with self.predictor.video_state(video) as state:
            self._counts["video_states"] += 1
            n, h, w = state["num_frames"], state["video_height"], state["video_width"]
            by_key: dict[int, list[tuple[int, GridAnswer]]] = {}
            for i, g in rows:
                fps = truths[i].fps
                k = 0 if fps is None else keyframe_index(g.time or 0.0, fps, n)
                by_key.setdefault(k, []).append((i, g))
            for k, group in sorted(by_key.items()):
                for start in range(0, len(group), self.max_prompts):
                    chunk = group[start:start + self.max_prompts]
                    masks, _ = self.predictor.track(
                        state, k, [prompt_from_answer(g, w, h) for _, g in chunk]
                    )
                    self._counts["video_tracks"] += 1
                    for (i, _), m in zip(chunk, masks, strict=True):
                        truth = truths[i]
                        if truth.video:
                            s = video_mask_scores(m, truth.mask, self.tolerance)
                            value = s.j_and_f if self.video_metric == "j&f" else s.j_mean
                            result[i] = (
                                value,
                                {"J": s.j_mean, "F": s.f_mean, "J&F": s.j_and_f, "keyframe": k},
                            )
                        else:  # an image run as a one-frame video
                            iou = float(mask_iou(m[0], truth.mask))
                            result[i] = (iou, {"mask_iou": iou})
        return result
