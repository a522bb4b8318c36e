"""Axis-aligned boxes ``[x1, y1, x2, y2]``: area and IoU.

The formula lives in one private function; :func:`box_iou` applies it element-wise (with
broadcasting) and :func:`box_iou_pairwise` to every pair of two sets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._arrays import as_coords, blockwise, scalar_or_array

__all__ = ["box_area", "box_iou", "box_iou_pairwise", "iou_one_box"]


def box_area(boxes: Any) -> Any:
    """``max(0, x2 - x1) * max(0, y2 - y1)`` of ``(..., 4)`` boxes (corners not reordered).

    >>> float(box_area([0, 0, 2, 3])), float(box_area([2, 0, 0, 3]))
    (6.0, 0.0)
    """
    b = as_coords(boxes, 4, "boxes")
    with np.errstate(invalid="ignore", over="ignore"):
        area = np.maximum(b[..., 2] - b[..., 0], 0.0) * np.maximum(b[..., 3] - b[..., 1], 0.0)
    return scalar_or_array(area)


def _columns(a: np.ndarray) -> np.ndarray:
    """The coordinates as 4 contiguous arrays (``(4, ...)``): element-wise work on them is
    several times faster than on strided views of ``(..., 4)`` rows."""
    return np.ascontiguousarray(np.moveaxis(a, -1, 0))


def _sides(c: np.ndarray) -> np.ndarray:
    """``max(0, x2 - x1) * max(0, y2 - y1)`` of a ``(4, ...)`` column array."""
    area = c[2] - c[0]
    np.maximum(area, 0.0, out=area)
    h = c[3] - c[1]
    np.maximum(h, 0.0, out=h)
    area *= h
    return area


def _iou(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """IoU of broadcastable ``(..., 4)`` arrays; 0 for an empty union or non-finite input.

    The one implementation of the box IoU formula. Non-finite input needs no mask: an
    infinite coordinate makes its box's area 0, infinite or NaN, which makes the ratio
    0 or NaN, and NaN (like the ``0 / 0`` of an empty union) is mapped to 0 at the end.
    """
    if p.ndim == 1 or g.ndim == 1:  # in-place ops need array columns, not 0-d scalars
        shape = np.broadcast_shapes(p.shape[:-1], g.shape[:-1])
        return _iou(
            p.reshape(-1, 4) if p.ndim == 1 else p, g.reshape(-1, 4) if g.ndim == 1 else g
        ).reshape(shape)
    pc, gc = _columns(p), _columns(g)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        area_p, area_g = _sides(pc), _sides(gc)
        inter = np.minimum(pc[2], gc[2])
        inter -= np.maximum(pc[0], gc[0])
        np.maximum(inter, 0.0, out=inter)
        ih = np.minimum(pc[3], gc[3])
        ih -= np.maximum(pc[1], gc[1])
        np.maximum(ih, 0.0, out=ih)
        inter *= ih
        union = area_p + area_g
        union -= inter
        inter /= union
        return np.fmax(inter, 0.0, out=inter)


def iou_one_box(p: Any, g: Any) -> float:
    """:func:`box_iou` of one pair of finite boxes, in Python floats (no array overhead).

    The same operations as the array formula, in the same order, so the same double; a
    zero comes out as ``+0.0``. For coordinates within ``±1e150`` only (no intermediate
    overflows there); the scorers use it for small batches and :func:`box_iou` otherwise.

    >>> iou_one_box([0, 0, 2, 2], [1, 1, 3, 3]) == float(box_iou([0, 0, 2, 2], [1, 1, 3, 3]))
    True
    """
    p0, p1, p2, p3 = p
    g0, g1, g2, g3 = g
    w = p2 - p0
    h = p3 - p1
    area_p = (w if w > 0.0 else 0.0) * (h if h > 0.0 else 0.0)
    w = g2 - g0
    h = g3 - g1
    area_g = (w if w > 0.0 else 0.0) * (h if h > 0.0 else 0.0)
    w = (p2 if p2 < g2 else g2) - (p0 if p0 > g0 else g0)
    h = (p3 if p3 < g3 else g3) - (p1 if p1 > g1 else g1)
    inter = (w if w > 0.0 else 0.0) * (h if h > 0.0 else 0.0)
    union = area_p + area_g - inter
    if union == 0.0:  # the array formula's 0 / 0
        return 0.0
    v = inter / union
    return v if v > 0.0 else 0.0


def box_iou(pred: Any, truth: Any) -> Any:
    """Element-wise IoU of ``[x1, y1, x2, y2]`` boxes.

    ``area = max(0, x2 - x1) * max(0, y2 - y1)``, ``IoU = inter / (area_p + area_g - inter)``.

    Degenerate inputs: corners are never reordered, so a box with ``x2 < x1`` or
    ``y2 < y1`` has area 0 and IoU 0; two zero-area boxes (union 0) have IoU 0; a pair with
    any NaN or infinite coordinate has IoU 0.

    Args:
        pred: array-like of shape ``(..., 4)``.
        truth: array-like of shape ``(..., 4)``, broadcastable against ``pred``.

    Returns:
        float64 IoU of the broadcast shape without the last axis.

    >>> float(box_iou([0, 0, 2, 2], [1, 1, 3, 3]))
    0.14285714285714285
    >>> box_iou([[0, 0, 2, 2], [2, 2, 0, 0], [1, 1, 1, 1]], [0, 0, 2, 2]).tolist()
    [1.0, 0.0, 0.0]
    >>> float(box_iou([0, 0, float("nan"), 2], [0, 0, 2, 2]))
    0.0
    """
    p, g = as_coords(pred, 4, "pred boxes"), as_coords(truth, 4, "truth boxes")
    return scalar_or_array(blockwise(_iou, p, g))


def box_iou_pairwise(a: Any, b: Any) -> np.ndarray:
    """IoU of every box of ``a`` (shape ``(N, 4)``) with every box of ``b`` (``(M, 4)``).

    Same formula and degenerate cases as :func:`box_iou`; returns shape ``(N, M)``.

    >>> others = [[0, 0, 2, 2], [1, 1, 3, 3], [5, 5, 6, 6]]
    >>> box_iou_pairwise([[0, 0, 2, 2]], others).round(4).tolist()
    [[1.0, 0.1429, 0.0]]
    >>> box_iou_pairwise(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape
    (0, 1)
    """
    p = as_coords(a, 4, "boxes a")
    g = as_coords(b, 4, "boxes b")
    if p.ndim != 2 or g.ndim != 2:
        raise ValueError(
            f"box_iou_pairwise needs (N, 4) and (M, 4) arrays, got {p.shape} and {g.shape}"
        )
    return _iou(p[:, None, :], g[None, :, :])
