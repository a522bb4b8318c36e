"""Structured tasks (JSON answers): temporal, spatial and spatio-temporal grounding,
tracking and segmentation (image and video).

Each answer is parsed once (``json.loads`` plus cheap type checks); the arithmetic of a
whole batch is done in numpy array operations by :meth:`score_many`. ``score`` is the same
computation on a batch of one, so both paths agree exactly.

Reference quirks reproduced by the default ``onethinker`` profile (see
docs/structured-tasks.md): swapped interval ends and box corners are not reordered (they
score 0), frame keys are matched as strings (``"01"`` is not ``"1"``), ``{"boxes": {}}`` is
a valid tracking answer, booleans count as numbers, numeric strings are accepted. The
``strict`` profile reorders swapped ends and corners. Unlike the reference, a non-finite
value never yields a non-finite reward: its component is 0 and the status says so.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..errors import GroundTruthError
from ..result import Status, TaskOutcome
from .base import ScoreOptions, TaskScorer

__all__ = [
    "SegmentationScorer",
    "SpatialGroundingScorer",
    "SpatialTemporalGroundingScorer",
    "TemporalGroundingScorer",
    "TrackingScorer",
    "box_iou",
    "interval_iou",
    "point_set_similarity",
    "time_similarity",
]

_NAN = float("nan")
SIGMA = 50.0  #: point-kernel width in grid units (5% of the 0-1000 frame)
TIME_SCALE = 2.0  #: keyframe kernel: exp(-|dt| / 2)

# --------------------------------------------------------------------------------------
# The formulas (pure numpy, element-wise over batches)
# --------------------------------------------------------------------------------------


def interval_iou(pred: Any, truth: Any) -> np.ndarray:
    """1-D IoU of ``[start, end]`` intervals, element-wise over ``(..., 2)`` arrays.

    ``inter = max(0, min(e1, e2) - max(s1, s2))``, ``union = max(e1, e2) - min(s1, s2)``;
    0 when ``union <= 1e-12`` (zero-length intervals), 0 for non-finite input. Swapped ends
    are not reordered.

    >>> float(interval_iou([1, 3], [2, 4]))
    0.3333333333333333
    >>> float(interval_iou([3, 1], [1, 3])), float(interval_iou([2, 2], [2, 2]))
    (0.0, 0.0)
    """
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(truth, dtype=np.float64)
    ps, pe, gs, ge = p[..., 0], p[..., 1], g[..., 0], g[..., 1]
    with np.errstate(all="ignore"):
        inter = np.maximum(0.0, np.minimum(pe, ge) - np.maximum(ps, gs))
        union = np.maximum(pe, ge) - np.minimum(ps, gs)
        iou = np.where(union > 1e-12, inter / np.where(union > 1e-12, union, 1.0), 0.0)
    return np.where(np.isfinite(iou), iou, 0.0)


def box_iou(pred: Any, truth: Any) -> np.ndarray:
    """IoU of ``[x1, y1, x2, y2]`` boxes, element-wise over ``(..., 4)`` arrays.

    ``area = max(0, x2 - x1) * max(0, y2 - y1)``; 0 when the union is 0 (two zero-area
    boxes) and for non-finite input. Swapped corners are not reordered (the area is 0).

    >>> float(box_iou([0, 0, 2, 2], [1, 1, 3, 3]))
    0.14285714285714285
    >>> float(box_iou([0, 0, 0, 0], [0, 0, 0, 0]))
    0.0
    """
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(truth, dtype=np.float64)
    with np.errstate(all="ignore"):
        area_p = np.maximum(0.0, p[..., 2] - p[..., 0]) * np.maximum(0.0, p[..., 3] - p[..., 1])
        area_g = np.maximum(0.0, g[..., 2] - g[..., 0]) * np.maximum(0.0, g[..., 3] - g[..., 1])
        iw = np.maximum(0.0, np.minimum(p[..., 2], g[..., 2]) - np.maximum(p[..., 0], g[..., 0]))
        ih = np.maximum(0.0, np.minimum(p[..., 3], g[..., 3]) - np.maximum(p[..., 1], g[..., 1]))
        inter = iw * ih
        union = area_p + area_g - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return np.where(np.isfinite(iou), iou, 0.0)


_PERMS3 = np.array(
    [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]], dtype=np.intp
)


def point_set_similarity(pred: Any, truth: Any, sigma: float = SIGMA) -> np.ndarray:
    """Gaussian similarity of point sets under the best assignment.

    For ``(..., 3, 2)`` arrays: among the 6 assignments of predicted to true points take
    the one with the smallest total Euclidean distance; with ``d`` its mean distance the
    similarity is ``exp(-d**2 / (2 * sigma**2))``. Other set sizes use
    :func:`scipy.optimize.linear_sum_assignment`. Non-finite input gives 0.

    >>> float(point_set_similarity([[0, 0], [10, 0], [0, 10]], [[0, 10], [0, 0], [10, 0]]))
    1.0
    >>> round(float(point_set_similarity([[50, 50]] * 3, [[0, 0]] * 3)), 6)
    0.367879
    """
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(truth, dtype=np.float64)
    if p.shape[-2:] != g.shape[-2:] or p.shape[-1] != 2:
        raise ValueError(f"point sets must have matching shapes (..., k, 2), got {p.shape} and {g.shape}")
    k = p.shape[-2]
    with np.errstate(all="ignore"):
        dist = np.sqrt(((p[..., :, None, :] - g[..., None, :, :]) ** 2).sum(-1))  # (..., k, k)
        if k == 3:
            rows = np.arange(3)
            totals = dist[..., rows[None, :], _PERMS3].sum(-1)  # (..., 6)
            best = totals.min(-1)
        else:
            from scipy.optimize import linear_sum_assignment

            flat = dist.reshape(-1, k, k)
            best = np.empty(flat.shape[0])
            for i, m in enumerate(flat):
                if not np.isfinite(m).all():
                    best[i] = np.nan
                    continue
                r, c = linear_sum_assignment(m)
                best[i] = m[r, c].sum()
            best = best.reshape(dist.shape[:-2])
        d = best / k
        sim = np.exp(-(d**2) / (2.0 * sigma**2))
    return np.where(np.isfinite(sim), sim, 0.0)


def time_similarity(pred: Any, truth: Any, scale: float = TIME_SCALE) -> np.ndarray:
    """Keyframe kernel ``exp(-|pred - truth| / scale)``; 0 for non-finite input.

    >>> round(float(time_similarity(3.0, 1.0)), 6)
    0.367879
    """
    with np.errstate(all="ignore"):
        s = np.exp(-np.abs(np.asarray(pred, np.float64) - np.asarray(truth, np.float64)) / scale)
    return np.where(np.isfinite(s), s, 0.0)


# --------------------------------------------------------------------------------------
# Parsing helpers
# --------------------------------------------------------------------------------------


class _Invalid(Exception):
    """A value that does not have the expected structure (message = reason)."""


def _num(x: Any) -> float:
    """A number as the reference reads it: ``float(x)`` of JSON numbers, booleans and
    numeric strings (anything else is invalid)."""
    if type(x) is str or type(x) is float or type(x) is int or type(x) is bool:
        try:
            return float(x)
        except ValueError:
            pass
    raise _Invalid(f"{_short(x)} is not a number")


def _nums(x: Any, n: int, what: str) -> list[float]:
    if type(x) is not list or len(x) != n:
        raise _Invalid(f"{what} must be a list of {n} numbers, got {_short(x)}")
    try:
        # float() accepts exactly the reference's numbers (numeric strings, booleans)
        return [float(v) for v in x]
    except (ValueError, TypeError):
        pass
    raise _Invalid(f"{what} must be a list of {n} numbers, got {_short(x)}")


def _short(x: Any) -> str:
    try:
        text = json.dumps(x)
    except (TypeError, ValueError):
        text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


_decode = json.JSONDecoder().decode


def _load(answer: str) -> tuple[Any, TaskOutcome | None]:
    try:
        return _decode(answer), None
    except (ValueError, RecursionError) as exc:
        return None, TaskOutcome(0.0, 0.0, Status.MALFORMED_JSON, f"answer is not valid JSON: {exc}")


def _truth_obj(ground_truth: Any, task: str) -> dict[str, Any]:
    if isinstance(ground_truth, str):
        try:
            ground_truth = json.loads(ground_truth)
        except (ValueError, RecursionError) as exc:
            raise GroundTruthError(f"{task} ground truth is not valid JSON: {exc}") from None
    if not isinstance(ground_truth, dict):
        raise GroundTruthError(
            f"{task} ground truth must be a JSON object, got {type(ground_truth).__name__}"
        )
    return ground_truth


def _truth_field(obj: dict[str, Any], key: str, task: str) -> Any:
    if key not in obj:
        raise GroundTruthError(f"{task} ground truth has no {key!r} field")
    return obj[key]


def _gt(fn: Any, *args: Any, task: str) -> Any:
    try:
        return fn(*args)
    except _Invalid as exc:
        raise GroundTruthError(f"{task} ground truth: {exc}") from None


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def _order(v: list[float], strict: bool) -> list[float]:
    """Reorder swapped interval ends / box corners in the strict profile."""
    if not strict:
        return v
    if len(v) == 2:
        return sorted(v)
    x1, y1, x2, y2 = v
    return [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]


# --------------------------------------------------------------------------------------
# Temporal and spatial grounding
# --------------------------------------------------------------------------------------


class _Simple(NamedTuple):
    """A parsed answer of a task whose accuracy is one IoU."""

    values: list[float] | None  # None: no usable prediction (accuracy 0)
    structure: float
    status: Status
    reason: str | None


class _SingleIoUScorer(TaskScorer):
    structured = True
    key = ""
    size = 2
    what = ""

    def prepare_ground_truth(self, ground_truth: Any, data_type: str | None) -> list[float]:
        obj = _truth_obj(ground_truth, self.name)
        return _gt(_nums, _truth_field(obj, self.key, self.name), self.size, self.key, task=self.name)

    def _parse(self, answer: str, strict: bool) -> _Simple:
        obj, bad = _load(answer)
        if bad is not None:
            return _Simple(None, 0.0, bad.status, bad.reason)
        if type(obj) is not dict or self.key not in obj:
            return _Simple(None, 0.0, Status.SCHEMA_ERROR, f"answer needs a {self.key!r} field: {_short(obj)}")
        try:
            v = _nums(obj[self.key], self.size, self.key)
        except _Invalid as exc:
            return _Simple(None, 0.0, Status.SCHEMA_ERROR, str(exc))
        if not _finite(*v):
            return _Simple(None, 0.5, Status.NON_FINITE, f"{self.key} has a non-finite value")
        return _Simple(_order(v, strict), 0.5, Status.OK, None)

    def _iou(self, pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def score(
        self, answer: str, truth: Any, *, data_type: str | None, options: ScoreOptions
    ) -> TaskOutcome:
        return self.score_many([answer], [truth], [data_type], options)[0]

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        strict = options.strict
        parsed = [self._parse(a, strict) for a in answers]
        ok = [i for i, p in enumerate(parsed) if p.values is not None]
        acc = np.zeros(len(parsed))
        if ok:
            pred = np.array([parsed[i].values for i in ok], dtype=np.float64)
            gt = np.array([_order(list(truths[i]), strict) for i in ok], dtype=np.float64)
            acc[ok] = self._iou(pred, gt)
        return [
            TaskOutcome(float(a), p.structure, p.status, p.reason)
            for a, p in zip(acc.tolist(), parsed, strict=True)
        ]


class TemporalGroundingScorer(_SingleIoUScorer):
    """``{"time": [start, end]}`` scored by 1-D IoU; structure 0.5 for a 2-number list.

    >>> s = TemporalGroundingScorer()
    >>> s.score('{"time": [1, 3]}', s.prepare_ground_truth('{"time": [2, 4]}', None),
    ...         data_type=None, options=ScoreOptions()).accuracy
    0.3333333333333333
    """

    name = "temporal grounding"
    key, size = "time", 2

    def _iou(self, pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return interval_iou(pred, truth)


class SpatialGroundingScorer(_SingleIoUScorer):
    """``{"boxes": [x1, y1, x2, y2]}`` scored by box IoU; structure 0.5 for a flat 4-list."""

    name = "spatial grounding"
    key, size = "boxes", 4

    def _iou(self, pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
        return box_iou(pred, truth)


# --------------------------------------------------------------------------------------
# Per-frame boxes: spatio-temporal grounding and tracking
# --------------------------------------------------------------------------------------


def _frame_boxes(x: Any) -> tuple[dict[str, list[float] | None], bool]:
    """A ``{frame: box}`` dict -> (boxes with None for malformed ones, all valid)."""
    out: dict[str, list[float] | None] = {}
    valid = True
    for k, v in x.items():
        try:
            out[k] = _nums(v, 4, "a box")
        except _Invalid:
            out[k] = None
            valid = False
    return out, valid


def _truth_frames(obj: dict[str, Any], task: str) -> dict[str, list[float]]:
    boxes = _truth_field(obj, "boxes", task)
    if not isinstance(boxes, dict):
        raise GroundTruthError(f"{task} ground truth 'boxes' must be an object of frame -> box")
    if not boxes:
        raise GroundTruthError(f"{task} ground truth 'boxes' is empty")
    return {str(k): _gt(_nums, v, 4, f"box of frame {k!r}", task=task) for k, v in boxes.items()}


def _mean_frame_iou(
    pairs: list[tuple[int, list[float], list[float]]], n_items: int, denominators: list[int]
) -> np.ndarray:
    """Sum the IoUs of (item, pred box, true box) pairs per item and divide."""
    sums = np.zeros(n_items)
    if pairs:
        idx = np.array([p[0] for p in pairs], dtype=np.intp)
        ious = box_iou(np.array([p[1] for p in pairs]), np.array([p[2] for p in pairs]))
        np.add.at(sums, idx, ious)
    den = np.array(denominators, dtype=np.float64)
    return np.where(den > 0, sums / np.where(den > 0, den, 1.0), 0.0)


class TrackingScorer(TaskScorer):
    """``{"boxes": {"1": box, ..., "32": box}}``: mean box IoU over all ground-truth frames
    (a missing frame counts 0, extra frames are ignored, keys compared as strings).

    Structure: ``0.25 * valid + 0.25 * |pred keys & gt keys| / |gt keys|``, where valid
    means ``boxes`` is an object of 4-number lists (``{}`` counts as valid: a reference
    quirk).
    """

    name = "tracking"
    structured = True

    def prepare_ground_truth(self, ground_truth: Any, data_type: str | None) -> dict[str, list[float]]:
        return _truth_frames(_truth_obj(ground_truth, self.name), self.name)

    def score(
        self, answer: str, truth: Any, *, data_type: str | None, options: ScoreOptions
    ) -> TaskOutcome:
        return self.score_many([answer], [truth], [data_type], options)[0]

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        strict = options.strict
        pairs: list[tuple[int, list[float], list[float]]] = []
        meta: list[tuple[float, Status, str | None]] = []
        for i, (answer, gt) in enumerate(zip(answers, truths, strict=True)):
            obj, bad = _load(answer)
            if bad is not None:
                meta.append((0.0, bad.status, bad.reason))
                continue
            boxes = obj.get("boxes") if type(obj) is dict else None
            if type(boxes) is not dict:
                meta.append((0.0, Status.SCHEMA_ERROR, f"answer needs 'boxes' as an object of frame -> box: {_short(obj)}"))
                continue
            frames, valid = _frame_boxes(boxes)
            shared = [k for k in gt if k in frames]
            status, reason = Status.OK, None
            if not valid:
                status, reason = Status.SCHEMA_ERROR, "some boxes are not 4-number lists"
            for k in shared:
                b = frames[k]
                if b is None:
                    continue
                if not _finite(*b):
                    status, reason = Status.NON_FINITE, f"box of frame {k!r} has a non-finite value"
                    continue
                pairs.append((i, _order(b, strict), _order(gt[k], strict)))
            meta.append((0.25 * valid + 0.25 * len(shared) / len(gt), status, reason))
        acc = _mean_frame_iou(pairs, len(answers), [len(gt) for gt in truths])
        return [TaskOutcome(float(a), s, st, r) for a, (s, st, r) in zip(acc.tolist(), meta, strict=True)]


class SpatialTemporalGroundingScorer(TaskScorer):
    """``{"time": [s, e], "boxes": {"<second>": box, ...}}``.

    Accuracy ``0.5 * tIoU + 0.5 * mean box IoU over the frames present in both``; no
    shared frame (or boxes given as a list) gives 0 for the spatial half. Structure
    ``0.25 * valid + 0.25 * |pred keys & gt keys| / |gt keys|`` where valid means ``time``
    has two elements (of any type) and ``boxes`` is an object of 4-number lists.
    """

    name = "spatial-temporal grounding"
    aliases = ("spatio-temporal grounding", "spatiotemporal grounding")
    structured = True

    def prepare_ground_truth(self, ground_truth: Any, data_type: str | None) -> tuple[list[float], dict[str, list[float]]]:
        obj = _truth_obj(ground_truth, self.name)
        time = _gt(_nums, _truth_field(obj, "time", self.name), 2, "time", task=self.name)
        return time, _truth_frames(obj, self.name)

    def score(
        self, answer: str, truth: Any, *, data_type: str | None, options: ScoreOptions
    ) -> TaskOutcome:
        return self.score_many([answer], [truth], [data_type], options)[0]

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        strict = options.strict
        n = len(answers)
        pairs: list[tuple[int, list[float], list[float]]] = []
        t_idx: list[int] = []
        t_pred: list[list[float]] = []
        t_true: list[list[float]] = []
        shared_counts = [0] * n
        meta: list[tuple[float, Status, str | None]] = []
        for i, (answer, (gt_time, gt_boxes)) in enumerate(zip(answers, truths, strict=True)):
            obj, bad = _load(answer)
            if bad is not None:
                meta.append((0.0, bad.status, bad.reason))
                continue
            if type(obj) is not dict:
                meta.append((0.0, Status.SCHEMA_ERROR, f"answer must be an object: {_short(obj)}"))
                continue
            status, reason = Status.OK, None
            time = obj.get("time")
            time_ok = type(time) is list and len(time) == 2
            try:
                tv = _nums(time, 2, "time")
                if _finite(*tv):
                    t_idx.append(i)
                    t_pred.append(_order(tv, strict))
                    t_true.append(_order(gt_time, strict))
                else:
                    status, reason = Status.NON_FINITE, "time has a non-finite value"
            except _Invalid as exc:
                status, reason = Status.SCHEMA_ERROR, str(exc)
            boxes = obj.get("boxes")
            if type(boxes) is dict:
                frames, boxes_ok = _frame_boxes(boxes)
                shared = [k for k in gt_boxes if k in frames]
                for k in shared:
                    b = frames[k]
                    if b is None:
                        continue
                    if not _finite(*b):
                        status, reason = Status.NON_FINITE, f"box of frame {k!r} has a non-finite value"
                        continue
                    pairs.append((i, _order(b, strict), _order(gt_boxes[k], strict)))
                shared_counts[i] = len(shared)
                overlap = len(shared) / len(gt_boxes)
            else:
                boxes_ok, overlap = False, 0.0
            if not boxes_ok and status is Status.OK:
                status, reason = Status.SCHEMA_ERROR, "'boxes' must be an object of frame -> 4-number box"
            meta.append((0.25 * (time_ok and boxes_ok) + 0.25 * overlap, status, reason))
        spatial = _mean_frame_iou(pairs, n, shared_counts)
        temporal = np.zeros(n)
        if t_idx:
            temporal[t_idx] = interval_iou(np.array(t_pred), np.array(t_true))
        acc = 0.5 * temporal + 0.5 * spatial
        return [TaskOutcome(float(a), s, st, r) for a, (s, st, r) in zip(acc.tolist(), meta, strict=True)]


# --------------------------------------------------------------------------------------
# Segmentation prompts (box + 3 positive + 3 negative points, + keyframe time for video)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SegTruth:
    box: list[float]
    pos: list[list[float]]
    neg: list[list[float]]
    time: float | None


def _points(x: Any, what: str) -> list[list[float]]:
    if type(x) is not list or len(x) != 3:
        raise _Invalid(f"{what} must be a list of 3 [x, y] points, got {_short(x)}")
    return [_nums(p, 2, f"a point of {what}") for p in x]


def _video_time(x: Any) -> float:
    t = type(x)
    if t is float or t is int or t is bool:
        return float(x)
    raise _Invalid(f"time must be a number, got {_short(x)}")


class SegmentationScorer(TaskScorer):
    """Segmentation prompts for SAM-style models, image or video (``data_type``).

    Image: ``0.5 * box IoU + 0.25 * P + 0.25 * N``; video adds the keyframe time:
    ``0.3 * box IoU + 0.3 * exp(-|dt| / 2) + 0.2 * P + 0.2 * N``. ``P`` / ``N`` are the
    point-set similarities (:func:`point_set_similarity`). Exactly 3 points per set are
    required (else accuracy 0); a malformed box only zeroes the box term. Structure 0.5
    when the whole answer is valid. A ``data_type`` other than image/video scores 0.
    """

    name = "segmentation"
    structured = True

    def prepare_ground_truth(self, ground_truth: Any, data_type: str | None) -> _SegTruth:
        obj = _truth_obj(ground_truth, self.name)
        task = self.name
        box = _gt(_nums, _truth_field(obj, "boxes", task), 4, "boxes", task=task)
        pos = _gt(_points, _truth_field(obj, "positive_points", task), "positive_points", task=task)
        neg = _gt(_points, _truth_field(obj, "negative_points", task), "negative_points", task=task)
        dt = (data_type or "").lower()
        time = None
        if dt == "video":
            time = _gt(_video_time, _truth_field(obj, "time", task), task=task)
        elif "time" in obj:
            try:
                time = _video_time(obj["time"])
            except _Invalid:
                time = None
        return _SegTruth(box, pos, neg, time)

    def score(
        self, answer: str, truth: Any, *, data_type: str | None, options: ScoreOptions
    ) -> TaskOutcome:
        return self.score_many([answer], [truth], [data_type], options)[0]

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        strict = options.strict
        n = len(answers)
        weights = np.zeros((n, 4))  # box, time, P, N
        box_rows: list[int] = []
        box_pred: list[list[float]] = []
        box_true: list[list[float]] = []
        pt_rows: list[int] = []
        pos_p: list[list[list[float]]] = []
        pos_t: list[list[list[float]]] = []
        neg_p: list[list[list[float]]] = []
        neg_t: list[list[list[float]]] = []
        time_rows: list[int] = []
        time_p: list[float] = []
        time_t: list[float] = []
        meta: list[tuple[float, Status, str | None]] = []
        for i, (answer, gt, dt_raw) in enumerate(zip(answers, truths, data_types, strict=True)):
            dt = (dt_raw or "").lower()
            if dt not in ("image", "video"):
                meta.append((0.0, Status.SCHEMA_ERROR, f"segmentation needs data_type image or video, got {dt_raw!r}"))
                continue
            obj, bad = _load(answer)
            if bad is not None:
                meta.append((0.0, bad.status, bad.reason))
                continue
            if type(obj) is not dict:
                meta.append((0.0, Status.SCHEMA_ERROR, f"answer must be an object: {_short(obj)}"))
                continue
            try:
                pos = _points(obj.get("positive_points"), "positive_points")
                neg = _points(obj.get("negative_points"), "negative_points")
                t = _video_time(obj.get("time")) if dt == "video" else None
            except _Invalid as exc:
                meta.append((0.0, Status.SCHEMA_ERROR, str(exc)))
                continue
            status, reason = Status.OK, None
            valid = True
            try:
                box = _nums(obj.get("boxes"), 4, "boxes")
            except _Invalid as exc:
                box, valid = None, False
                status, reason = Status.SCHEMA_ERROR, str(exc)
            w = (0.3, 0.3, 0.2, 0.2) if dt == "video" else (0.5, 0.0, 0.25, 0.25)
            weights[i] = w
            if box is not None:
                if _finite(*box):
                    box_rows.append(i)
                    box_pred.append(_order(box, strict))
                    box_true.append(_order(gt.box, strict))
                else:
                    status, reason = Status.NON_FINITE, "boxes has a non-finite value"
            if _finite(*(c for p in pos + neg for c in p)):
                pt_rows.append(i)
                pos_p.append(pos)
                pos_t.append(gt.pos)
                neg_p.append(neg)
                neg_t.append(gt.neg)
            else:
                status, reason = Status.NON_FINITE, "a point has a non-finite value"
            if t is not None:
                if math.isfinite(t) and gt.time is not None:
                    time_rows.append(i)
                    time_p.append(t)
                    time_t.append(gt.time)
                elif not math.isfinite(t):
                    status, reason = Status.NON_FINITE, "time is not finite"
            meta.append((0.5 if valid else 0.0, status, reason))
        terms = np.zeros((n, 4))
        if box_rows:
            terms[box_rows, 0] = box_iou(np.array(box_pred), np.array(box_true))
        if time_rows:
            terms[time_rows, 1] = time_similarity(np.array(time_p), np.array(time_t))
        if pt_rows:
            terms[pt_rows, 2] = point_set_similarity(np.array(pos_p), np.array(pos_t))
            terms[pt_rows, 3] = point_set_similarity(np.array(neg_p), np.array(neg_t))
        acc = (weights * terms).sum(axis=1)
        return [TaskOutcome(float(a), s, st, r) for a, (s, st, r) in zip(acc.tolist(), meta, strict=True)]


SCORERS = (
    TemporalGroundingScorer,
    SpatialGroundingScorer,
    SpatialTemporalGroundingScorer,
    TrackingScorer,
    SegmentationScorer,
)
