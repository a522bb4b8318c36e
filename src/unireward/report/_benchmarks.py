"""Grounding benchmark numbers of a scored dump, streamed through :mod:`unireward.metrics`.

Each family keeps a small buffer of per-sample values; a full buffer goes through the
metric function of :mod:`unireward.metrics` and its result is folded in weighted by the
number of samples (or, for tracking, of scored frames) it covers. Every benchmark number is
a mean or a share, so the weighted fold equals the metric over the whole set, and memory
does not grow with the dump.

* temporal grounding: the accuracy is the tIoU -> R@0.3, R@0.5, R@0.7, mIoU;
* spatial grounding: the accuracy is the box IoU -> Acc@0.5, mIoU;
* spatio-temporal grounding: vIoU (:func:`unireward.metrics.video_iou`) of the answer's
  tube over the truth's annotated frames -> m_vIoU, vIoU@0.3, vIoU@0.5;
* tracking: per-frame box IoUs pooled over sequences -> AO, SR@0.5, SR@0.75;
* segmentation, where rows carry mask pixel counts (``mask_intersection``, ``mask_union``,
  as :class:`~unireward.geometry.masks.MaskSetScores` holds them) -> gIoU, cIoU.

An answer that cannot be used counts as IoU 0 (a tube or track with no usable box scores 0
on every frame).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .. import metrics
from ..completion import parse_completion, unwrap_ground_truth
from ..geometry.masks import MaskSetScores
from ..schemas import as_floats, as_frame_boxes, load_json

__all__ = ["FAMILIES", "BenchmarkSet", "family_of"]

CHUNK = 4096
_NAN4 = [float("nan")] * 4

#: benchmark family (a scorer's ``report_family``) -> its columns, in order
FAMILIES: dict[str, tuple[str, ...]] = {
    "temporal grounding": ("R@0.3", "R@0.5", "R@0.7", "mIoU"),
    "spatial grounding": ("Acc@0.5", "mIoU"),
    "spatio-temporal grounding": ("m_vIoU", "vIoU@0.3", "vIoU@0.5"),
    "tracking": ("AO", "SR@0.5", "SR@0.75"),
    "segmentation": ("gIoU", "cIoU"),
}


def family_of(label: str) -> str | None:
    """The benchmark family of a task label (its scorer's
    :attr:`~unireward.TaskScorer.report_family`), or None (no family, or unknown).

    >>> family_of("Temporal_Grounding"), family_of("spatio-temporal grounding"), family_of("OCR")
    ('temporal grounding', 'spatio-temporal grounding', None)
    """
    from ..errors import UnknownTaskError
    from ..registry import get_scorer

    try:
        family = get_scorer(label).report_family
    except (UnknownTaskError, TypeError, ValueError):
        return None
    return family if family in FAMILIES else None


def _iou_metrics(ious: list[Any]) -> dict[str, float]:
    return {**metrics.recall_at(ious), "mIoU": float(np.mean(ious))}


def _acc_metrics(ious: list[Any]) -> dict[str, float]:
    return {"Acc@0.5": metrics.recall_at(ious, (0.5,))["R@0.5"], "mIoU": float(np.mean(ious))}


def _tracks(items: list[Any]) -> dict[str, float]:
    # GOT-10k pools the frames of all sequences, so a chunk of sequences is one long sequence
    return metrics.tracking_metrics(
        [[b for p, _ in items for b in p]], [[b for _, t in items for b in t]]
    )


class _Fold:
    """A metric folded over chunks: the weighted mean of its per-chunk values."""

    def __init__(
        self, fn: Callable[[list[Any]], dict[str, float]], weight: Callable[[list[Any]], float]
    ) -> None:
        self.fn, self.weight = fn, weight
        self.buf: list[Any] = []
        self.sums: dict[str, float] = {}
        self.total = 0.0
        self.samples = 0

    def add(self, item: Any) -> None:
        self.buf.append(item)
        self.samples += 1
        if len(self.buf) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.buf:
            return
        w = self.weight(self.buf)
        if w > 0:
            for k, v in self.fn(self.buf).items():
                self.sums[k] = self.sums.get(k, 0.0) + v * w
            self.total += w
        self.buf = []

    def values(self) -> dict[str, float]:
        self.flush()
        return {k: v / self.total for k, v in self.sums.items()} if self.total else {}


def _giou(pairs: list[tuple[int, int]]) -> dict[str, float]:
    inter = np.array([i for i, _ in pairs])
    union = np.array([u for _, u in pairs])
    return {"gIoU": MaskSetScores(inter, union).giou}


class _MaskFold:
    """gIoU (mean of per-row IoUs) and cIoU (sum of intersections / sum of unions)."""

    def __init__(self) -> None:
        self.iou = _Fold(_giou, len)
        self.inter = 0
        self.union = 0

    @property
    def samples(self) -> int:
        return self.iou.samples

    def add(self, item: tuple[int, int]) -> None:
        self.iou.add(item)
        self.inter += item[0]
        self.union += item[1]

    def values(self) -> dict[str, float]:
        one = MaskSetScores(
            np.array([self.inter], dtype=np.int64), np.array([self.union], dtype=np.int64)
        )
        return {**self.iou.values(), "cIoU": one.ciou}


def _answer_object(completion: Any) -> dict[str, Any] | None:
    if not isinstance(completion, str):
        return None
    obj, err = load_json(parse_completion(completion).answer)
    return obj if err is None and type(obj) is dict else None


def _truth(task: str, ground_truth: Any, data_type: Any) -> Any:
    if isinstance(ground_truth, str) and (data_type is None or isinstance(data_type, str)):
        return _cached_truth(task, ground_truth, data_type)  # the rollouts of a prompt share it
    return _prepared_truth(task, ground_truth, data_type)


def _prepared_truth(task: str, ground_truth: Any, data_type: Any) -> Any:
    from ..registry import get_scorer

    return get_scorer(task).prepare_ground_truth(unwrap_ground_truth(ground_truth), data_type)


_cached_truth = functools.lru_cache(maxsize=256)(_prepared_truth)


def _frame_boxes(obj: dict[str, Any] | None, keys: list[str]) -> list[list[float]]:
    boxes = obj.get("boxes") if obj is not None else None
    frames = as_frame_boxes(boxes)[0] if type(boxes) is dict else {}
    return [frames.get(k) or _NAN4 for k in keys]


def _second(key: str) -> float:
    """A frame key as a number of seconds (NaN when it is not one: never inside a span)."""
    try:
        return float(key)
    except ValueError:
        return float("nan")


class BenchmarkSet:
    """The benchmark numbers of every grounding task label of a dump."""

    def __init__(self) -> None:
        self.folds: dict[str, tuple[str, Any]] = {}  # label -> (family, fold)
        self.unreadable = 0

    def _fold(self, label: str, family: str) -> Any:
        entry = self.folds.get(label)
        if entry is None:
            if family in ("temporal grounding", "spatial grounding"):
                metric = _iou_metrics if family == "temporal grounding" else _acc_metrics
                fold: Any = _Fold(metric, len)
            elif family == "spatio-temporal grounding":
                fold = _Fold(metrics.spatio_temporal_metrics, len)
            elif family == "tracking":
                fold = _Fold(_tracks, lambda b: float(sum(len(t) for _, t in b)))
            else:
                fold = _MaskFold()
            entry = self.folds[label] = (family, fold)
        return entry[1]

    def add(self, label: str, family: str, row: Mapping[str, Any], accuracy: float,
            completion: Any, ground_truth: Any, data_type: Any) -> None:
        """Fold one scored, non-error row of a grounding task in."""
        if family in ("temporal grounding", "spatial grounding"):
            self._fold(label, family).add(accuracy if accuracy == accuracy else 0.0)
            return
        if family == "segmentation":
            inter, union = row.get("mask_intersection"), row.get("mask_union")
            if isinstance(inter, int) and isinstance(union, int) and 0 <= inter <= union:
                self._fold(label, family).add((inter, union))
            return
        try:  # the row's own scorer prepares its truth
            truth = _truth(label, ground_truth, data_type)
        except Exception:  # a truth the scorer refused: such rows are errors, but be safe
            self.unreadable += 1
            return
        obj = _answer_object(completion)
        if family == "tracking":
            keys = list(truth)
            self._fold(label, family).add((_frame_boxes(obj, keys), [truth[k] for k in keys]))
            return
        keys = sorted(truth.frames, key=_second)
        frames = [_second(k) for k in keys]
        span = as_floats(obj.get("time"), 2) if obj is not None else None
        if span is None or not np.isfinite(span).all():
            self._fold(label, family).add(0.0)
            return
        v = metrics.video_iou(
            frames, span, truth.time, _frame_boxes(obj, keys), [truth.frames[k] for k in keys]
        )
        self._fold(label, family).add(v)

    def table(self) -> dict[str, dict[str, dict[str, float]]]:
        """``{family: {label: {"samples": n, metric: value, ...}}}``, families in order."""
        out: dict[str, dict[str, dict[str, float]]] = {}
        for family in FAMILIES:
            for label in sorted(lb for lb, (fam, _) in self.folds.items() if fam == family):
                fold = self.folds[label][1]
                values = fold.values()
                if values:
                    out.setdefault(family, {})[label] = {"samples": fold.samples, **values}
        return out
