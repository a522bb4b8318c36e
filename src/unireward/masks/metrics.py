"""Mask metrics in pure numpy: IoU, gIoU / cIoU over a set, and video J, F and J&F.

Conventions (documented in docs/segmentation-eval.md): two empty masks have IoU 1 (nothing
to find, nothing predicted: DAVIS convention) and boundary F 1; an empty prediction of a
non-empty target scores 0. cIoU over a set whose unions are all empty is 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["boundary_f", "ciou", "decode_rle", "giou", "j_and_f", "mask_iou"]


def _bool(m: Any) -> np.ndarray:
    a = np.asarray(m)
    return a if a.dtype == bool else a > 0.5


def mask_iou(pred: Any, target: Any) -> np.ndarray:
    """IoU of binary masks over the last two axes (``(..., H, W)``).

    >>> a = np.zeros((4, 4), bool); a[:2] = True
    >>> b = np.zeros((4, 4), bool); b[1:3] = True
    >>> float(mask_iou(a, b)), float(mask_iou(np.zeros((2, 2)), np.zeros((2, 2))))
    (0.3333333333333333, 1.0)
    """
    p, t = _bool(pred), _bool(target)
    if p.shape != t.shape:
        raise ValueError(f"mask shapes differ: {p.shape} vs {t.shape}")
    inter = np.logical_and(p, t).sum(axis=(-2, -1)).astype(np.float64)
    union = np.logical_or(p, t).sum(axis=(-2, -1)).astype(np.float64)
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 1.0)


def giou(preds: Sequence[Any], targets: Sequence[Any]) -> float:
    """Mean of the per-image IoUs (gIoU)."""
    if len(preds) != len(targets) or not preds:
        raise ValueError("giou needs equally many (>= 1) predictions and targets")
    return float(np.mean([float(mask_iou(p, t)) for p, t in zip(preds, targets, strict=True)]))


def ciou(preds: Sequence[Any], targets: Sequence[Any]) -> float:
    """Cumulative IoU: sum of intersections / sum of unions over the set (cIoU).

    >>> a = np.ones((2, 2)); z = np.zeros((2, 2))
    >>> ciou([a, z], [a, a])
    0.5
    """
    if len(preds) != len(targets) or not preds:
        raise ValueError("ciou needs equally many (>= 1) predictions and targets")
    inter = union = 0
    for p, t in zip(preds, targets, strict=True):
        pb, tb = _bool(p), _bool(t)
        inter += int(np.logical_and(pb, tb).sum())
        union += int(np.logical_or(pb, tb).sum())
    return inter / union if union else 1.0


def _boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of the mask with a 4-neighbour outside it."""
    padded = np.pad(mask, 1, constant_values=False)
    inner = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~inner


def _disk(radius: int) -> np.ndarray:
    r = max(radius, 0)
    y, x = np.ogrid[-r : r + 1, -r : r + 1]
    return x * x + y * y <= r * r


def boundary_f(pred: Any, target: Any, tolerance: float = 0.0075) -> float:
    """DAVIS boundary F-measure of one frame: boundaries matched within
    ``tolerance * image diagonal`` pixels (a disk dilation), then precision/recall -> F.

    >>> m = np.zeros((20, 20), bool); m[5:15, 5:15] = True
    >>> boundary_f(m, m)
    1.0
    """
    from scipy.ndimage import binary_dilation

    p, t = _bool(pred), _bool(target)
    if p.shape != t.shape or p.ndim != 2:
        raise ValueError(f"boundary_f needs two (H, W) masks, got {p.shape} and {t.shape}")
    radius = int(np.ceil(tolerance * np.hypot(*p.shape)))
    bp, bt = _boundary(p), _boundary(t)
    n_p, n_t = int(bp.sum()), int(bt.sum())
    if n_p == 0 and n_t == 0:
        return 1.0
    if n_p == 0 or n_t == 0:
        return 0.0
    disk = _disk(radius)
    precision = float((bp & binary_dilation(bt, structure=disk)).sum()) / n_p
    recall = float((bt & binary_dilation(bp, structure=disk)).sum()) / n_t
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def j_and_f(pred_frames: Any, target_frames: Any, tolerance: float = 0.0075) -> dict[str, float]:
    """Video metrics over ``(T, H, W)`` masks: J (mean IoU), F (mean boundary F), J&F."""
    p, t = _bool(pred_frames), _bool(target_frames)
    if p.shape != t.shape or p.ndim != 3:
        raise ValueError(f"j_and_f needs two (T, H, W) mask stacks, got {p.shape} and {t.shape}")
    j = float(np.mean(mask_iou(p, t)))
    f = float(np.mean([boundary_f(a, b, tolerance) for a, b in zip(p, t, strict=True)]))
    return {"J": j, "F": f, "J&F": (j + f) / 2}


def decode_rle(rle: Any) -> np.ndarray:
    """Decode a COCO RLE (``{"size": [h, w], "counts": ...}``) into a bool mask
    (needs ``pycocotools``: ``unireward[masks]``)."""
    try:
        from pycocotools import mask as mask_utils
    except ImportError as exc:
        from ..errors import missing_extra

        raise missing_extra("pycocotools", "masks") from exc
    r = dict(rle)
    if isinstance(r.get("counts"), list):
        r = mask_utils.frPyObjects(r, *r["size"])
    elif isinstance(r.get("counts"), str):
        r["counts"] = r["counts"].encode()
    return mask_utils.decode(r).astype(bool)
