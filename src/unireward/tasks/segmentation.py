"""Segmentation prompts for SAM-style models: a box and 3 positive and 3 negative points,
plus the key-frame time for videos.

``data_type`` (lower-cased) picks the formula:

* ``image``: ``A = 0.5 * box IoU + 0.25 * P + 0.25 * N``;
* ``video``: ``A = 0.3 * box IoU + 0.3 * exp(-|dt| / 2) + 0.2 * P + 0.2 * N``;
* anything else: ``A = 0``, ``S = 0``.

``P`` and ``N`` are the Gaussian point kernels of the positive and negative points
(:func:`unireward.geometry.point_set_similarity`, sigma 50 grid units, best of the 6
assignments). Structure is 0.5 when the whole answer is valid.

As in the reference, accuracy does not depend on structure: a missing or malformed box
scores 0 for the box term while the point (and time) terms still count. Only a point set
that is not exactly 3 ``[x, y]`` points, or (video) a ``time`` that is not a JSON number
(a string, a list, missing), zeroes the whole accuracy and the structure. A video ground
truth scored as ``image`` uses the image formula and ignores time; an image answer's
``time`` is ignored.

We differ from the reference on NaN: a NaN or infinite value makes its term 0 (status
``non_finite``) instead of a NaN reward. ``strict`` reorders swapped box corners.
"""

from __future__ import annotations

import json  # noqa: F401  (used by the doctests)
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from pydantic import BaseModel

from ..geometry import box_iou, keyframe_similarity, point_set_similarity
from ..result import Status, TaskOutcome
from ..schemas import (
    Issues,
    SegmentationImageAnswer,
    SegmentationVideoAnswer,
    as_floats,
    as_number,
    as_points,
    load_json,
    truth_floats,
    truth_object,
    truth_points,
    validation_reason,
)
from ._shared import flag_non_finite, order_boxes, outcomes
from .base import ScoreOptions, TaskScorer

__all__ = ["IMAGE_WEIGHTS", "SCORERS", "VIDEO_WEIGHTS", "SegmentationScorer", "SegmentationTruth"]

#: Weights of (box IoU, time kernel, positive points, negative points).
IMAGE_WEIGHTS = (0.5, 0.0, 0.25, 0.25)
VIDEO_WEIGHTS = (0.3, 0.3, 0.2, 0.2)
_WEIGHTS = {"image": IMAGE_WEIGHTS, "video": VIDEO_WEIGHTS}
_NAN = float("nan")
_NAN4 = [_NAN] * 4
_NAN_PTS = [[_NAN, _NAN]] * 3


class SegmentationTruth(NamedTuple):
    """A prepared segmentation ground truth (``time`` is None for images)."""

    box: tuple[float, ...]
    positive: tuple[tuple[float, float], ...]
    negative: tuple[tuple[float, float], ...]
    time: float | None


class SegmentationScorer(TaskScorer):
    """Segmentation prompts, image or video (see the module docstring).

    >>> s, o = SegmentationScorer(), ScoreOptions()
    >>> truth = {"boxes": [0, 0, 100, 100], "positive_points": [[10, 10], [20, 20], [30, 30]],
    ...          "negative_points": [[0, 0], [99, 99], [0, 99]], "time": 3}
    >>> gt = s.prepare_ground_truth(truth, "video")
    >>> answer = dict(truth, time=5, positive_points=[[30, 30], [10, 10], [20, 20]])
    >>> round(s.score(json.dumps(answer), gt, data_type="Video", options=o).accuracy, 6)
    0.810364
    >>> s.score(json.dumps(dict(answer, time="5")), gt, data_type="video", options=o)[:3]
    (0.0, 0.0, <Status.SCHEMA_ERROR: 'schema_error'>)
    >>> s.score(json.dumps(dict(answer, boxes=None)), gt, data_type="image", options=o)[:2]
    (0.5, 0.0)
    """

    name = "segmentation"
    structured = True
    answer_model = SegmentationImageAnswer
    answer_data_types = ("image", "video")
    check_spec = "unireward.testing._tasks:SegmentationSpec"
    report_family = "segmentation"

    def answer_model_for(self, data_type: str | None) -> type[BaseModel] | None:
        video = isinstance(data_type, str) and data_type.lower() == "video"
        return SegmentationVideoAnswer if video else SegmentationImageAnswer

    def ema_key(self, task: str, data_type: str | None, *, strict: bool) -> str:
        """Split by data type: ``onethinker`` as the reference (only the task spelled
        exactly ``segmentation``, only ``image`` and ``video``, any case); ``strict``: any
        spelling, any data type (lower-cased)."""
        if strict:
            return f"{task}/{str(data_type).lower()}"
        dt = "" if data_type is None else str(data_type).lower()
        return f"{task}/{dt}" if task == "segmentation" and dt in ("image", "video") else task

    def prepare_ground_truth(self, ground_truth: Any, data_type: str | None) -> SegmentationTruth:
        from ..errors import GroundTruthError

        task = self.name
        obj = truth_object(ground_truth, task)
        box = truth_floats(obj, "boxes", 4, task)
        pos = truth_points(obj, "positive_points", 3, task)
        neg = truth_points(obj, "negative_points", 3, task)
        time = None
        if (data_type or "").lower() == "video":
            if "time" not in obj:
                raise GroundTruthError(f"{task} ground truth of a video has no field 'time'")
            time = as_number(obj["time"])
            if time is None or not np.isfinite(time):
                raise GroundTruthError(f"{task} ground truth: field 'time' must be a finite number")
        return SegmentationTruth(box, pos, neg, time)

    def stand_in_truth(self, ground_truth: Any, data_type: str | None) -> SegmentationTruth:
        point = ((0.0, 0.0),) * 3
        video = (data_type or "").lower() == "video"
        return SegmentationTruth((0.0, 0.0, 1.0, 1.0), point, point, 0.0 if video else None)

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        batch = _Batch(len(answers))
        for i, (answer, gt, dt) in enumerate(zip(answers, truths, data_types, strict=True)):
            kind = dt.lower() if isinstance(dt, str) else ""
            w = _WEIGHTS.get(kind)
            if w is None:
                why = f"segmentation needs data_type 'image' or 'video', got {dt!r}"
                batch.issues.flag(i, Status.SCHEMA_ERROR, why)
            else:
                batch.read(i, answer, gt, kind, w, self.answer_model_for(kind))
        return batch.outcomes(truths, options.strict)


class _Batch:
    """The columns of a segmentation batch: what each answer holds (NaN where unusable),
    the term weights of its data type, its structure reward and its issues."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.issues = Issues()
        self.structure = [0.0] * n
        self.weights = [(0.0, 0.0, 0.0, 0.0)] * n
        self.boxes: list[list[float]] = [_NAN4] * n
        self.pos: list[list[list[float]]] = [_NAN_PTS] * n
        self.neg: list[list[list[float]]] = [_NAN_PTS] * n
        self.times = [_NAN] * n
        self.true_times = [_NAN] * n
        self.video_rows: list[int] = []

    def read(
        self,
        i: int,
        answer: str,
        gt: SegmentationTruth,
        kind: str,
        weights: tuple[float, float, float, float],
        schema: type[BaseModel] | None,
    ) -> None:
        """Read answer ``i`` (of data type ``kind``) into the columns."""
        obj, err = load_json(answer)
        if err is not None:
            self.issues.flag(i, Status.MALFORMED_JSON, f"answer is {err}")
            return
        if type(obj) is not dict:
            self.issues.flag(i, Status.SCHEMA_ERROR, validation_reason(schema, obj))
            return
        p = as_points(obj.get("positive_points"), 3)
        q = as_points(obj.get("negative_points"), 3)
        t = obj.get("time")
        time_ok = kind == "image" or type(t) is float or type(t) is int or type(t) is bool
        if p is None or q is None or not time_ok:
            self.issues.flag(i, Status.SCHEMA_ERROR, validation_reason(schema, obj))
            return
        self.pos[i], self.neg[i] = p, q
        self.weights[i] = weights
        if kind == "video":
            if gt.time is None:
                from ..errors import GroundTruthError

                raise GroundTruthError("segmentation ground truth of a video has no field 'time'")
            self.times[i] = as_number(t)  # type: ignore[assignment]
            self.true_times[i] = gt.time
            self.video_rows.append(i)
        b = as_floats(obj.get("boxes"), 4)
        if b is None:
            self.issues.flag(i, Status.SCHEMA_ERROR, validation_reason(schema, obj))
        else:
            self.boxes[i] = b
            self.structure[i] = 0.5

    def outcomes(self, truths: Sequence[Any], strict: bool) -> list[TaskOutcome]:
        """The weighted terms of every item, in array operations, as outcomes."""
        n, weights = self.n, self.weights
        box_p = np.array(self.boxes, dtype=np.float64)
        box_t = np.array(
            [gt.box if w[0] else _NAN4 for gt, w in zip(truths, weights, strict=True)],
            dtype=np.float64,
        )
        if strict:
            box_p, box_t = order_boxes(box_p), order_boxes(box_t)
        pos_p = np.array(self.pos, dtype=np.float64)
        neg_p = np.array(self.neg, dtype=np.float64)
        scored = [i for i in range(n) if weights[i][0]]
        pos_t = np.full((n, 3, 2), _NAN)
        neg_t = np.full((n, 3, 2), _NAN)
        if scored:
            pos_t[scored] = [truths[i].positive for i in scored]
            neg_t[scored] = [truths[i].negative for i in scored]
        terms = np.stack(
            [
                box_iou(box_p, box_t),
                keyframe_similarity(np.array(self.times), np.array(self.true_times)),
                point_set_similarity(pos_p, pos_t),
                point_set_similarity(neg_p, neg_t),
            ],
            axis=1,
        ).reshape(n, 4)
        acc = (np.array(weights, dtype=np.float64).reshape(n, 4) * terms).sum(axis=1)
        with_box = [i for i in scored if self.structure[i]]
        issues = self.issues
        flag_non_finite(box_p[with_box], with_box, issues, "boxes")
        flag_non_finite(pos_p[scored], scored, issues, "positive_points")
        flag_non_finite(neg_p[scored], scored, issues, "negative_points")
        flag_non_finite(np.array(self.times)[self.video_rows], self.video_rows, issues, "time")
        return outcomes(acc, self.structure, issues)


SCORERS = (SegmentationScorer,)
