"""Benchmark metrics: aggregates over a scored set, in NumPy.

==========================  ===============================================================
function                    benchmark numbers
==========================  ===============================================================
temporal_grounding_metrics  R@0.3, R@0.5, R@0.7 (share of samples with tIoU >= m), mIoU
recall_at                   the R@m part alone, from IoUs
referring_accuracy          Acc@0.5 (RefCOCO/+/g style: share of boxes with IoU >= 0.5)
tracking_metrics            AO, SR@0.5, SR@0.75 (GOT-10k: pooled over all scored frames)
video_iou                   vIoU of one spatio-temporal tube (HC-STVG / VidSTG)
spatio_temporal_metrics     m_vIoU, vIoU@0.3, vIoU@0.5 (share of samples with vIoU >= m)
==========================  ===============================================================

Mask metrics (gIoU, cIoU, J&F) live with the mask geometry. Every metric computes its IoUs
with :mod:`unireward.geometry`. An empty set raises :class:`~unireward.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .errors import InputError
from .geometry import box_iou, interval_iou

__all__ = [
    "recall_at",
    "referring_accuracy",
    "spatio_temporal_metrics",
    "temporal_grounding_metrics",
    "tracking_metrics",
    "video_iou",
]


def _nonempty(values: Any, what: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64).reshape(-1)
    if a.size == 0:
        raise InputError(f"{what}: no samples to aggregate")
    return a


def _label(t: float) -> str:
    return f"{t:g}"


def recall_at(ious: Any, thresholds: Iterable[float] = (0.3, 0.5, 0.7)) -> dict[str, float]:
    """``R@m``: the share of samples whose IoU is at least ``m``, for each threshold.

    >>> recall_at([0.2, 0.5, 0.8, 1.0])
    {'R@0.3': 0.75, 'R@0.5': 0.75, 'R@0.7': 0.5}
    """
    a = _nonempty(ious, "recall_at")
    return {f"R@{_label(t)}": float(np.mean(a >= t)) for t in thresholds}


def temporal_grounding_metrics(
    pred: Any, truth: Any, thresholds: Iterable[float] = (0.3, 0.5, 0.7)
) -> dict[str, float]:
    """R@{0.3, 0.5, 0.7} and mIoU of predicted ``[start, end]`` spans (``(N, 2)``).

    Spans are scored by :func:`unireward.geometry.interval_iou` (ends not reordered; a
    non-finite span scores 0). ``R@m`` counts ``IoU >= m``.

    >>> temporal_grounding_metrics([[0, 10], [0, 4], [20, 30]], [[0, 10], [0, 10], [0, 10]])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'R@0.3': 0.6666666666666666, 'R@0.5': 0.3333333333333333, 'R@0.7': 0.3333333333333333,
     'mIoU': 0.4666666666666666}
    """
    ious = _nonempty(interval_iou(pred, truth), "temporal_grounding_metrics")
    return {**recall_at(ious, thresholds), "mIoU": float(ious.mean())}


def referring_accuracy(pred: Any, truth: Any, threshold: float = 0.5) -> float:
    """Acc@0.5 of referring-expression grounding: the share of predicted boxes whose IoU
    with the true box is at least ``threshold`` (RefCOCO, RefCOCO+, RefCOCOg convention).

    >>> referring_accuracy([[0, 0, 10, 10], [0, 0, 10, 4]], [[0, 0, 10, 10], [0, 0, 10, 10]])
    0.5
    """
    ious = _nonempty(box_iou(pred, truth), "referring_accuracy")
    return float(np.mean(ious >= threshold))


def tracking_metrics(
    pred: Sequence[Any],
    truth: Sequence[Any],
    thresholds: Iterable[float] = (0.5, 0.75),
    *,
    skip_first_frame: bool = False,
) -> dict[str, float]:
    """GOT-10k's average overlap (AO) and success rates SR@t of box trajectories.

    ``pred[i]`` and ``truth[i]`` are ``(T_i, 4)`` boxes of sequence ``i`` frame by frame.
    Frames where the truth has a non-finite box (the target is absent) are not scored; a
    non-finite predicted box scores IoU 0. As in the GOT-10k toolkit, the per-frame IoUs
    of all sequences are pooled: ``AO`` is their mean and ``SR@t`` the share with
    ``IoU > t`` (strictly greater). ``skip_first_frame`` drops each sequence's first frame
    (the initialisation frame, which GOT-10k does not score).

    >>> nan = float("nan")
    >>> tracking_metrics([[[0, 0, 2, 2], [0, 0, 2, 1]], [[0, 0, 2, 2], [5, 5, 6, 6]]],
    ...                  [[[0, 0, 2, 2], [0, 0, 2, 2]], [[0, 0, 2, 2], [nan] * 4]])
    {'AO': 0.8333333333333334, 'SR@0.5': 0.6666666666666666, 'SR@0.75': 0.6666666666666666}
    """
    if len(pred) != len(truth):
        raise InputError(f"tracking_metrics: {len(pred)} predicted and {len(truth)} true sequences")
    pooled = []
    for i, (p, g) in enumerate(zip(pred, truth, strict=True)):
        pa = np.asarray(p, dtype=np.float64).reshape(-1, 4)
        ga = np.asarray(g, dtype=np.float64).reshape(-1, 4)
        if pa.shape != ga.shape:
            raise InputError(f"tracking_metrics: sequence {i} has shapes {pa.shape} and {ga.shape}")
        if skip_first_frame:
            pa, ga = pa[1:], ga[1:]
        visible = np.isfinite(ga).all(axis=1)
        pooled.append(np.asarray(box_iou(pa[visible], ga[visible])).reshape(-1))
    ious = _nonempty(np.concatenate(pooled) if pooled else [], "tracking_metrics")
    out = {"AO": float(ious.mean())}
    out.update({f"SR@{_label(t)}": float(np.mean(ious > t)) for t in thresholds})
    return out


def video_iou(
    frames: Any, pred_span: Any, truth_span: Any, pred_boxes: Any, truth_boxes: Any
) -> float:
    """vIoU of one predicted spatio-temporal tube (HC-STVG, VidSTG).

    ``vIoU = sum over frames in both spans of box IoU / number of frames in the UNION of
    the spans``. Spans are half-open ``[start, end)`` in the units of ``frames`` (frame
    indices or seconds): a frame ``f`` is in a span when ``start <= f < end``. The union
    covers ``min(start) <= f < max(end)``, so a prediction that starts or ends outside the
    true span is penalised for every extra frame (computing the union's end with ``min``
    instead of ``max``, as some evaluation scripts do, inflates vIoU).

    Args:
        frames: ``(T,)`` the annotated frames.
        pred_span: ``[start, end)`` of the prediction.
        truth_span: ``[start, end)`` of the truth.
        pred_boxes: ``(T, 4)`` predicted boxes at ``frames`` (rows outside the predicted
            span are not read).
        truth_boxes: ``(T, 4)`` true boxes at ``frames`` (rows outside the true span are
            not read).

    >>> frames = [0, 1, 2, 3]
    >>> boxes = [[0, 0, 2, 2]] * 4
    >>> video_iou(frames, [1, 4], [0, 2], boxes, boxes)
    0.25
    """
    f = np.asarray(frames, dtype=np.float64).reshape(-1)
    ps, pe = (float(v) for v in np.asarray(pred_span, dtype=np.float64).reshape(2))
    gs, ge = (float(v) for v in np.asarray(truth_span, dtype=np.float64).reshape(2))
    pb = np.asarray(pred_boxes, dtype=np.float64).reshape(-1, 4)
    gb = np.asarray(truth_boxes, dtype=np.float64).reshape(-1, 4)
    if not (len(f) == len(pb) == len(gb)):
        raise InputError(
            f"video_iou: {len(f)} frames but {len(pb)} predicted and {len(gb)} true boxes"
        )
    union = (f >= min(ps, gs)) & (f < max(pe, ge))
    inter = (f >= max(ps, gs)) & (f < min(pe, ge))
    n_union = int(union.sum())
    if n_union == 0:
        return 0.0
    return float(np.sum(box_iou(pb[inter], gb[inter])) / n_union)


def spatio_temporal_metrics(
    vious: Any, thresholds: Iterable[float] = (0.3, 0.5)
) -> dict[str, float]:
    """m_vIoU (mean vIoU) and vIoU@m (share of samples with ``vIoU >= m``).

    >>> spatio_temporal_metrics([0.1, 0.4, 0.6, 0.9])
    {'m_vIoU': 0.5, 'vIoU@0.3': 0.75, 'vIoU@0.5': 0.5}
    """
    a = _nonempty(vious, "spatio_temporal_metrics")
    out = {"m_vIoU": float(a.mean())}
    out.update({f"vIoU@{_label(t)}": float(np.mean(a >= t)) for t in thresholds})
    return out
