"""Benchmark metrics against hand-computed values and plain loops."""

from __future__ import annotations

import random

import numpy as np
import pytest

from unireward.errors import InputError
from unireward.metrics import (
    recall_at,
    referring_accuracy,
    spatio_temporal_metrics,
    temporal_grounding_metrics,
    tracking_metrics,
    video_iou,
)

NAN = float("nan")


def test_temporal_metrics_by_hand() -> None:
    # IoUs: 1.0, 0.5 ([0,5] in [0,10]), 0.3 ([0,3] vs [0,10]), 0.0
    m = temporal_grounding_metrics([[0, 10], [0, 5], [0, 3], [20, 30]], [[0, 10]] * 4)
    assert m == pytest.approx({"R@0.3": 0.75, "R@0.5": 0.5, "R@0.7": 0.25, "mIoU": 1.8 / 4})
    assert recall_at([0.7], thresholds=(0.7,)) == {"R@0.7": 1.0}  # >= at the threshold


def test_referring_accuracy_threshold_is_inclusive() -> None:
    assert referring_accuracy([[0, 0, 10, 5], [0, 0, 10, 4.9]], [[0, 0, 10, 10]] * 2) == 0.5


def test_tracking_metrics_pool_frames_like_got10k() -> None:
    rng = random.Random(0)
    preds, truths, pooled = [], [], []
    for _ in range(20):
        T = rng.randint(2, 15)
        g = [
            [x, y, x + 50, y + 50]
            for x, y in ((rng.uniform(0, 500), rng.uniform(0, 500)) for _ in range(T))
        ]
        p = [[b[0] + rng.uniform(-40, 40), b[1], b[2] + rng.uniform(-40, 40), b[3]] for b in g]
        for t in range(1, T):
            if rng.random() < 0.2:
                g[t] = [NAN] * 4  # target absent
        for t in range(1, T):  # skip the first frame
            if not np.isnan(g[t][0]):
                ix = max(0.0, min(p[t][2], g[t][2]) - max(p[t][0], g[t][0]))
                area_p = max(0.0, p[t][2] - p[t][0]) * 50
                pooled.append(ix * 50 / (area_p + 2500 - ix * 50))
        preds.append(p)
        truths.append(g)
    m = tracking_metrics(preds, truths, skip_first_frame=True)
    a = np.array(pooled)
    assert m["AO"] == pytest.approx(a.mean())
    assert m["SR@0.5"] == pytest.approx(np.mean(a > 0.5))
    assert m["SR@0.75"] == pytest.approx(np.mean(a > 0.75))
    # strictly greater: an IoU of exactly 0.5 is not a success
    assert tracking_metrics([[[0, 0, 10, 5]]], [[[0, 0, 10, 10]]])["SR@0.5"] == 0.0


def test_video_iou_uses_the_union_of_spans() -> None:
    frames = np.arange(10)
    boxes = np.tile([0.0, 0.0, 10.0, 10.0], (10, 1))
    half = np.tile([0.0, 0.0, 10.0, 5.0], (10, 1))
    # truth [2, 6), pred [4, 10): union [2, 10) = 8 frames, intersection [4, 6) = 2 frames
    assert video_iou(frames, [4, 10], [2, 6], boxes, boxes) == pytest.approx(2 / 8)
    # with min() in place of max() for the union's end the denominator would be 4 -> 0.5
    assert video_iou(frames, [4, 10], [2, 6], half, boxes) == pytest.approx(2 * 0.5 / 8)
    assert video_iou(frames, [0, 3], [5, 8], boxes, boxes) == 0.0  # disjoint
    assert video_iou(frames, [3, 3], [3, 3], boxes, boxes) == 0.0  # empty spans
    with pytest.raises(InputError, match="10 frames but 9"):
        video_iou(frames, [0, 1], [0, 1], boxes[:9], boxes)


def test_spatio_temporal_metrics_and_empty_sets() -> None:
    assert spatio_temporal_metrics([0.3, 0.5, 0.0, 1.0]) == pytest.approx(
        {"m_vIoU": 0.45, "vIoU@0.3": 0.75, "vIoU@0.5": 0.5}
    )
    for call in (
        lambda: spatio_temporal_metrics([]),
        lambda: recall_at([]),
        lambda: tracking_metrics([], []),
        lambda: referring_accuracy(np.zeros((0, 4)), np.zeros((0, 4))),
    ):
        with pytest.raises(InputError, match="no samples"):
            call()
