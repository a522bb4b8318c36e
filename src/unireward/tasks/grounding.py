"""Grounding tasks: temporal, spatial, spatio-temporal and polygon grounding.

Answers are JSON inside ``<answer>``; coordinates are whatever the data uses (the
OneThinker data uses the 0-1000 relative grid), times are seconds. Each answer is parsed
once (``json.loads`` and a few type checks, see :mod:`unireward.schemas`); the IoUs of a
whole batch are then computed by :mod:`unireward.geometry` in array operations.
:meth:`score` is :meth:`score_many` on a batch of one, so both give the same numbers.

Reference quirks kept by the default ``onethinker`` profile, and what ``strict`` changes:

=====================================  ======================  ======================
case                                   onethinker (default)    strict
=====================================  ======================  ======================
swapped interval ends / box corners    not reordered: IoU 0    reordered, then scored
spatio-temporal ``{"boxes": {}}``      valid (structure 0.25)  not valid
frame keys                             compared as strings     compared as strings
=====================================  ======================  ======================

Both profiles: numbers may be JSON numbers, booleans or numeric strings; NaN, Infinity
and ``1e309`` count as numbers for the structure reward but their component scores 0 with
status ``non_finite`` (the reference can return NaN there: we never do).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any, ClassVar, NamedTuple

import numpy as np

from ..geometry import (
    box_iou,
    interval_iou,
    iou_one_box,
    iou_one_interval,
    polygon_iou,
    ragged_mean_iou,
)
from ..result import Status, TaskOutcome
from ..schemas import (
    Issues,
    PolygonAnswer,
    SpatialAnswer,
    SpatioTemporalAnswer,
    TemporalAnswer,
    as_floats,
    as_frame_boxes,
    as_points,
    load_json,
    stand_in_frames,
    truth_floats,
    truth_frames,
    truth_object,
    validation_reason,
)
from ._shared import FramePairs, flag_non_finite, order_boxes, order_intervals, outcomes
from .base import ScoreOptions, TaskScorer

__all__ = [
    "SCORERS",
    "PolygonGroundingScorer",
    "SpatialGroundingScorer",
    "SpatioTemporalGroundingScorer",
    "TemporalGroundingScorer",
    "order_boxes",
    "order_intervals",
]

_NAN2 = [float("nan")] * 2
_NAN4 = [float("nan")] * 4
#: Batches up to this size are scored without NumPy when their values allow it.
_SMALL_BATCH = 16
_MALFORMED = Status.MALFORMED_JSON
_SCHEMA = Status.SCHEMA_ERROR
_NON_FINITE = Status.NON_FINITE


# --------------------------------------------------------------------------------------
# One interval or one box
# --------------------------------------------------------------------------------------


class _OneShapeScorer(TaskScorer):
    """A task whose answer is one field of ``size`` numbers scored by one IoU."""

    structured = True
    key: ClassVar[str] = ""
    size: ClassVar[int] = 0

    def prepare_ground_truth(self, ground_truth: Any, data_type: str | None) -> tuple[float, ...]:
        return truth_floats(truth_object(ground_truth, self.name), self.key, self.size, self.name)

    def stand_in_truth(self, ground_truth: Any, data_type: str | None) -> tuple[float, ...]:
        return tuple(float(i) for i in range(self.size))  # structure depends on the answer only

    def _iou(self, pred: np.ndarray, truth: np.ndarray, strict: bool) -> np.ndarray:
        raise NotImplementedError

    #: the IoU of one finite pair in Python floats (the same doubles as :meth:`_iou`)
    _iou_one: ClassVar[Any] = None

    def _small_batch(
        self, flat: list[float], structure: list[float], truths: Sequence[Any]
    ) -> list[float] | None:
        """The accuracies of a few items without NumPy (a single :func:`score` call costs
        several times the arithmetic in array set-up otherwise), or None when a value is
        not a plain finite number within +-1e150 (the array path then takes the batch)."""
        size, one = self.size, type(self)._iou_one
        out: list[float] = []
        for i, st in enumerate(structure):
            if not st:  # no usable answer: IoU 0, as the array path gives its NaN row
                out.append(0.0)
                continue
            p, g = flat[i * size : (i + 1) * size], truths[i]
            for v in chain(p, g):
                if not -1e150 <= v <= 1e150:  # NaN fails too
                    return None
            out.append(one(p, g))
        return out

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        flat, structure, issues = self._read(answers)
        n = len(structure)
        accuracy: list[float] | None = None
        if n <= _SMALL_BATCH and not options.strict:
            accuracy = self._small_batch(flat, structure, truths)
        if accuracy is None:
            accuracy = self._array_accuracy(flat, structure, truths, issues, options.strict)
        return outcomes(accuracy, structure, issues)

    def _read(self, answers: Sequence[str]) -> tuple[list[float], list[float], Issues]:
        """The answers' fields as one flat list (item i owns ``flat[i * size : (i + 1) *
        size]``, NaN where unusable), their structure rewards and their issues."""
        key, size = self.key, self.size
        missing = _NAN2 if size == 2 else _NAN4
        issues = Issues()
        flat: list[float] = []  # item i owns flat[i * size : (i + 1) * size]
        structure: list[float] = []
        extend, put = flat.extend, structure.append
        for i, answer in enumerate(answers):
            obj, err = load_json(answer)
            if err is not None:
                issues.flag(i, _MALFORMED, f"answer is {err}")
                extend(missing)
                put(0.0)
                continue
            x = obj.get(key) if type(obj) is dict else None
            if type(x) is list and len(x) == size:
                try:  # the usual answer: the field as `size` floats, in C calls only
                    extend(map(float, x))
                    put(0.5)
                    continue
                except (TypeError, ValueError, OverflowError):
                    del flat[i * size :]  # what the failed float() left
            v = as_floats(x, size)
            if v is None:
                issues.flag(i, _SCHEMA, validation_reason(self.answer_model, obj))
                extend(missing)
                put(0.0)
            else:
                extend(v)
                put(0.5)
        return flat, structure, issues

    def _array_accuracy(
        self,
        flat: list[float],
        structure: list[float],
        truths: Sequence[Any],
        issues: Issues,
        strict: bool,
    ) -> list[float]:
        """The accuracies in NumPy; flags the items whose used values are not finite."""
        n, size = len(structure), self.size
        pred = np.array(flat, dtype=np.float64).reshape(n, size)
        truth = np.fromiter(chain.from_iterable(truths), np.float64, count=n * size).reshape(
            n, size
        )
        acc = self._iou(pred, truth, strict) + 0.0  # zeros as +0.0, as in the small path
        parsed = np.array(structure) > 0
        flag_non_finite(pred[parsed], np.flatnonzero(parsed), issues, self.key)
        out: list[float] = acc.tolist()
        return out


class TemporalGroundingScorer(_OneShapeScorer):
    """``{"time": [start, end]}`` (seconds), scored by 1-D IoU.

    Structure 0.5 when ``time`` is a list of exactly 2 numbers (even swapped ones).

    >>> s, o = TemporalGroundingScorer(), ScoreOptions()
    >>> gt = s.prepare_ground_truth('{"time": [2, 4]}', "video")
    >>> s.score('{"time": [1, 3]}', gt, data_type="video", options=o)[:3]
    (0.3333333333333333, 0.5, <Status.OK: 'ok'>)
    >>> s.score('{"time": [3, 1]}', gt, data_type="video", options=o)[:2]
    (0.0, 0.5)
    >>> strict = ScoreOptions(profile="strict")
    >>> s.score('{"time": [3, 1]}', gt, data_type="video", options=strict)[:2]
    (0.3333333333333333, 0.5)
    """

    name = "temporal grounding"
    answer_model = TemporalAnswer
    check_spec = "unireward.testing._tasks:TemporalSpec"
    report_family = "temporal grounding"
    key, size = "time", 2
    _iou_one = staticmethod(iou_one_interval)

    def _iou(self, pred: np.ndarray, truth: np.ndarray, strict: bool) -> np.ndarray:
        if strict:
            pred, truth = order_intervals(pred), order_intervals(truth)
        return np.asarray(interval_iou(pred, truth))


class SpatialGroundingScorer(_OneShapeScorer):
    """``{"boxes": [x1, y1, x2, y2]}``, scored by box IoU.

    Structure 0.5 when ``boxes`` is a flat list of 4 numbers (a nested list scores 0).

    >>> s, o = SpatialGroundingScorer(), ScoreOptions()
    >>> gt = s.prepare_ground_truth({"boxes": [0, 0, 10, 10]}, "image")
    >>> s.score('{"boxes": [0, 0, 10, 5]}', gt, data_type="image", options=o)[:2]
    (0.5, 0.5)
    >>> s.score('{"boxes": [[0, 0, 10, 5]]}', gt, data_type="image", options=o).status.value
    'schema_error'
    """

    name = "spatial grounding"
    answer_model = SpatialAnswer
    check_spec = "unireward.testing._tasks:SpatialSpec"
    report_family = "spatial grounding"
    key, size = "boxes", 4
    _iou_one = staticmethod(iou_one_box)

    def _iou(self, pred: np.ndarray, truth: np.ndarray, strict: bool) -> np.ndarray:
        if strict:
            pred, truth = order_boxes(pred), order_boxes(truth)
        return np.asarray(box_iou(pred, truth))


# --------------------------------------------------------------------------------------
# Spatio-temporal grounding
# --------------------------------------------------------------------------------------


class SpatioTemporalTruth(NamedTuple):
    """A prepared spatio-temporal ground truth."""

    time: tuple[float, ...]
    frames: dict[str, tuple[float, ...]]


class SpatioTemporalGroundingScorer(TaskScorer):
    """``{"time": [s, e], "boxes": {"<second>": [x1, y1, x2, y2], ...}}``.

    Accuracy ``0.5 * tIoU + 0.5 * mean box IoU over the frame keys present in both`` the
    answer and the truth (a malformed box scores 0 for its frame; no shared key, or boxes
    given as a list, scores 0 for the spatial half). Extra frames are ignored.

    Structure ``0.25 * valid + 0.25 * |answer keys & truth keys| / |truth keys|``, where
    valid means ``time`` is a list of two elements (of any type: a reference quirk) and
    ``boxes`` an object of 4-number lists (``{}`` passes in the default profile).

    >>> s, o = SpatioTemporalGroundingScorer(), ScoreOptions()
    >>> truth = {"time": [0, 4], "boxes": {"1": [0, 0, 2, 2], "2": [0, 0, 2, 2]}}
    >>> gt = s.prepare_ground_truth(truth, "video")
    >>> answer = '{"time": [0, 2], "boxes": {"1": [0, 0, 2, 1]}}'
    >>> s.score(answer, gt, data_type="video", options=o)[:2]
    (0.5, 0.375)
    """

    name = "spatial-temporal grounding"
    aliases = ("spatio-temporal grounding",)
    answer_model = SpatioTemporalAnswer
    check_spec = "unireward.testing._tasks:SpatioTemporalSpec"
    report_family = "spatio-temporal grounding"
    structured = True

    def prepare_ground_truth(self, ground_truth: Any, data_type: str | None) -> SpatioTemporalTruth:
        obj = truth_object(ground_truth, self.name)
        return SpatioTemporalTruth(
            truth_floats(obj, "time", 2, self.name), truth_frames(obj, self.name)
        )

    def stand_in_truth(self, ground_truth: Any, data_type: str | None) -> SpatioTemporalTruth:
        return SpatioTemporalTruth((0.0, 1.0), stand_in_frames(ground_truth))

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        strict = options.strict
        n = len(answers)
        issues = Issues()
        structure = [0.0] * n
        times: list[list[float]] = []
        time_owner: list[int] = []
        pairs = FramePairs()
        shared_counts = [0] * n
        for i, (answer, gt) in enumerate(zip(answers, truths, strict=True)):
            obj, err = load_json(answer)
            if err is not None:
                issues.flag(i, _MALFORMED, f"answer is {err}")
                continue
            if type(obj) is not dict:
                issues.flag(i, _SCHEMA, validation_reason(self.answer_model, obj))
                continue
            time = obj.get("time")
            tv = as_floats(time, 2)
            if tv is not None:
                times.append(tv)
                time_owner.append(i)
            boxes = obj.get("boxes")
            boxes_ok = False
            shared = 0
            if type(boxes) is dict:
                frames, boxes_ok = as_frame_boxes(boxes)
                if strict and not frames:
                    boxes_ok = False
                shared = shared_counts[i] = pairs.match_frames(i, frames, gt.frames)
            valid = type(time) is list and len(time) == 2 and boxes_ok
            structure[i] = 0.25 * valid + (0.25 * shared / len(gt.frames) if gt.frames else 0.0)
            if tv is None or not boxes_ok:
                issues.flag(
                    i,
                    _SCHEMA,
                    validation_reason(self.answer_model, obj, "'boxes' must not be empty"),
                )

        temporal = np.zeros(n)
        if times:
            t_pred = np.array(times, dtype=np.float64)
            t_true = np.array([truths[i].time for i in time_owner], dtype=np.float64)
            if strict:
                t_pred, t_true = order_intervals(t_pred), order_intervals(t_true)
            temporal[time_owner] = interval_iou(t_pred, t_true)
            flag_non_finite(t_pred, time_owner, issues, "time")
        p, g = pairs.arrays(strict)
        spatial = ragged_mean_iou(p, g, pairs.owner, shared_counts)
        flag_non_finite(p, pairs.owner, issues, "a box")
        return outcomes(0.5 * temporal + 0.5 * spatial, structure, issues)


# --------------------------------------------------------------------------------------
# Polygon grounding (beyond the reference)
# --------------------------------------------------------------------------------------


def polygon_vertices(obj: Any) -> list[list[float]] | None:
    """The vertices of a polygon answer (``polygon``, ``quad`` or ``rbox``), or None.

    >>> polygon_vertices({"rbox": [5, 5, 4, 2, 0]})
    [[3.0, 4.0], [7.0, 4.0], [7.0, 6.0], [3.0, 6.0]]
    >>> polygon_vertices({"polygon": [[0, 0], [1, 0]]}) is None
    True
    """
    if type(obj) is not dict:
        return None
    if "polygon" in obj:
        x = obj["polygon"]
        return as_points(x, len(x)) if type(x) is list and len(x) >= 3 else None
    if "quad" in obj:
        return as_points(obj["quad"], 4)
    if "rbox" in obj:
        r = as_floats(obj["rbox"], 5)
        if r is None:
            return None
        from ..geometry import rbox_to_polygon

        return rbox_to_polygon(r).tolist()  # type: ignore[no-any-return]
    return None


class PolygonGroundingScorer(TaskScorer):
    """A region as ``{"polygon": [[x, y], ...]}``, ``{"quad": [[x, y] x 4]}`` or
    ``{"rbox": [cx, cy, w, h, angle_deg]}``, scored by polygon IoU (shapely 2, vectorised).

    The ground truth uses the same forms. Structure 0.5 for a well-formed, simple polygon.
    A self-intersecting (or degenerate, zero-area) polygon scores accuracy 0 and structure
    0 with status ``schema_error`` and shapely's reason (e.g. ``Self-intersection[1 1]``).
    Not part of the reference: both profiles behave the same.

    >>> s, o = PolygonGroundingScorer(), ScoreOptions()
    >>> gt = s.prepare_ground_truth({"quad": [[0, 0], [2, 0], [2, 2], [0, 2]]}, "image")
    >>> a, st, *_ = s.score('{"rbox": [1, 1, 2, 2, 45]}', gt, data_type="image", options=o)
    >>> round(a, 6), st
    (0.707107, 0.5)
    >>> bowtie = '{"polygon": [[0, 0], [2, 2], [2, 0], [0, 2]]}'
    >>> out = s.score(bowtie, gt, data_type="image", options=o)
    >>> out.accuracy, out.structure, out.status.value, out.reason
    (0.0, 0.0, 'schema_error', 'polygon is not simple: Self-intersection[1 1]')
    """

    name = "polygon grounding"
    answer_model = PolygonAnswer
    structured = True

    def prepare_ground_truth(self, ground_truth: Any, data_type: str | None) -> Any:
        from ..errors import GroundTruthError
        from ..geometry import as_polygons, polygon_validity

        obj = truth_object(ground_truth, self.name)
        v = polygon_vertices(obj)
        if v is None or not np.isfinite(v).all():
            raise GroundTruthError(
                f"{self.name} ground truth needs 'polygon' (>= 3 finite [x, y] points), "
                "'quad' (4 points) or 'rbox' ([cx, cy, w, h, angle_deg])"
            )
        ok, why = polygon_validity([v])
        if not ok[0]:
            raise GroundTruthError(f"{self.name} ground truth polygon is not simple: {why[0]}")
        return as_polygons([v])[0]

    def stand_in_truth(self, ground_truth: Any, data_type: str | None) -> Any:
        from ..geometry import as_polygons

        return as_polygons([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]])[0]

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        from ..geometry import as_polygons, polygon_validity

        n = len(answers)
        issues = Issues()
        structure = [0.0] * n
        verts: list[list[list[float]]] = []
        owner: list[int] = []
        for i, answer in enumerate(answers):
            obj, err = load_json(answer)
            if err is not None:
                issues.flag(i, _MALFORMED, f"answer is {err}")
                continue
            v = polygon_vertices(obj)
            if v is None:
                issues.flag(i, _SCHEMA, validation_reason(self.answer_model, obj))
                continue
            if not np.isfinite(v).all():
                structure[i] = 0.5
                issues.flag(i, _NON_FINITE, "a vertex has a NaN or infinite value: accuracy 0")
                continue
            verts.append(v)
            owner.append(i)
        acc = np.zeros(n)
        if verts:
            geoms = as_polygons(verts)
            ok, why = polygon_validity(geoms)
            idx = np.array(owner)
            acc[idx] = polygon_iou(geoms, np.array([truths[i] for i in owner], dtype=object))
            for j, i in enumerate(owner):
                if ok[j]:
                    structure[i] = 0.5
                else:
                    acc[i] = 0.0
                    issues.flag(i, _SCHEMA, f"polygon is not simple: {why[j]}")
        return outcomes(acc, structure, issues)


SCORERS = (
    TemporalGroundingScorer,
    SpatialGroundingScorer,
    SpatioTemporalGroundingScorer,
    PolygonGroundingScorer,
)
