"""Tracking: one box per second, ``{"boxes": {"1": [x1, y1, x2, y2], ..., "32": [...]}}``.

Accuracy is the mean box IoU over ALL ground-truth frames: a frame the answer lacks (or
gives a malformed box for) counts 0, frames the truth lacks are ignored, and keys are
matched as strings (``"01"`` is not ``"1"``). Structure is
``0.25 * valid + 0.25 * |answer keys & truth keys| / |truth keys|``, where valid means
``boxes`` is an object of 4-number lists.

Quirks of the default ``onethinker`` profile: ``{"boxes": {}}`` is valid (structure 0.25);
swapped corners are not reordered (IoU 0). ``strict`` makes an empty object invalid and
reorders corners. A NaN or infinite coordinate scores 0 for its frame (status
``non_finite``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..geometry import ragged_mean_iou
from ..result import Status, TaskOutcome
from ..schemas import (
    Issues,
    TrackingAnswer,
    as_frame_boxes,
    load_json,
    stand_in_frames,
    truth_frames,
    truth_object,
    validation_reason,
)
from ._shared import FramePairs, flag_non_finite, outcomes
from .base import ScoreOptions, TaskScorer

__all__ = ["SCORERS", "TrackingScorer"]


class TrackingScorer(TaskScorer):
    """Single-object tracking as per-second boxes (see the module docstring).

    >>> s, o = TrackingScorer(), ScoreOptions()
    >>> gt = s.prepare_ground_truth({"boxes": {"1": [0, 0, 2, 2], "2": [0, 0, 2, 2]}}, "video")
    >>> answer = '{"boxes": {"1": [0, 0, 2, 2], "3": [0, 0, 2, 2]}}'
    >>> s.score(answer, gt, data_type="video", options=o)[:2]
    (0.5, 0.375)
    >>> s.score('{"boxes": {}}', gt, data_type="video", options=o)[:2]
    (0.0, 0.25)
    """

    name = "tracking"
    answer_model = TrackingAnswer
    check_spec = "unireward.testing._tasks:TrackingSpec"
    report_family = "tracking"
    structured = True

    def prepare_ground_truth(
        self, ground_truth: Any, data_type: str | None
    ) -> dict[str, tuple[float, ...]]:
        return truth_frames(truth_object(ground_truth, self.name), self.name)

    def stand_in_truth(
        self, ground_truth: Any, data_type: str | None
    ) -> dict[str, tuple[float, ...]]:
        return stand_in_frames(ground_truth)

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
        pairs = FramePairs()
        for i, (answer, gt) in enumerate(zip(answers, truths, strict=True)):
            obj, err = load_json(answer)
            if err is not None:
                issues.flag(i, Status.MALFORMED_JSON, f"answer is {err}")
                continue
            boxes = obj.get("boxes") if type(obj) is dict else None
            if type(boxes) is not dict:
                issues.flag(i, Status.SCHEMA_ERROR, validation_reason(TrackingAnswer, obj))
                continue
            frames, valid = as_frame_boxes(boxes)
            if strict and not frames:
                valid = False
            shared = pairs.match_frames(i, frames, gt)
            structure[i] = 0.25 * valid + (0.25 * shared / len(gt) if gt else 0.0)
            if not valid:
                issues.flag(
                    i,
                    Status.SCHEMA_ERROR,
                    validation_reason(TrackingAnswer, obj, "'boxes' must not be empty"),
                )
        p, g = pairs.arrays(strict)
        acc = ragged_mean_iou(p, g, pairs.owner, [len(gt) for gt in truths])
        flag_non_finite(p, pairs.owner, issues, "a box")
        return outcomes(acc, structure, issues)


SCORERS = (TrackingScorer,)
