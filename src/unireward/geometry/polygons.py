"""Polygons and rotated boxes, scored with shapely 2's vectorised functions.

shapely is imported inside the functions, so importing :mod:`unireward.geometry` stays
cheap. A polygon is given by its vertices (``[[x, y], ...]``, at least 3, not closed: the
ring is closed automatically) or as a shapely geometry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._arrays import as_coords, scalar_or_array

__all__ = ["as_polygons", "polygon_iou", "polygon_validity", "rbox_to_polygon"]


def rbox_to_polygon(rboxes: Any) -> np.ndarray:
    """Corners of rotated boxes ``[cx, cy, w, h, angle_deg]`` as ``(..., 4, 2)`` vertices.

    The box is ``w`` wide along its own x axis and ``h`` tall, turned by ``angle_deg``
    degrees from the +x axis towards the +y axis (clockwise on screen, where y points
    down). The corners start at ``(-w/2, -h/2)`` and go round in the box's own frame.

    >>> rbox_to_polygon([5, 5, 4, 2, 0]).tolist()
    [[3.0, 4.0], [7.0, 4.0], [7.0, 6.0], [3.0, 6.0]]
    >>> rbox_to_polygon([0, 0, 2, 2, 90]).round(6).tolist()
    [[1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0]]
    """
    r = as_coords(rboxes, 5, "rotated boxes")
    cx, cy, w, h, ang = (r[..., i] for i in range(5))
    theta = np.deg2rad(ang)
    c, s = np.cos(theta), np.sin(theta)
    ux = np.array([-0.5, 0.5, 0.5, -0.5])
    uy = np.array([-0.5, -0.5, 0.5, 0.5])
    lx = ux * w[..., None]
    ly = uy * h[..., None]
    x = cx[..., None] + lx * c[..., None] - ly * s[..., None]
    y = cy[..., None] + lx * s[..., None] + ly * c[..., None]
    return np.stack([x, y], axis=-1)


def as_polygons(polygons: Any) -> np.ndarray:
    """A 1-d object array of shapely geometries from vertex lists or geometries.

    Accepts an ``(N, K, 2)`` array, a sequence of ``(K_i, 2)`` vertex lists (ragged), a
    single ``(K, 2)`` vertex list, or shapely geometries. A vertex list with fewer than 3
    vertices, or with a NaN or infinite coordinate, becomes an empty polygon.

    >>> shapes = [[[0, 0], [2, 0], [2, 2], [0, 2]], [[0, 0], [1, 0]]]
    >>> [round(g.area, 6) for g in as_polygons(shapes)]
    [4.0, 0.0]
    """
    import shapely

    if isinstance(polygons, shapely.Geometry):
        return np.array([polygons], dtype=object)
    if isinstance(polygons, np.ndarray) and polygons.dtype == object:
        return polygons.reshape(-1)
    if isinstance(polygons, np.ndarray) and polygons.ndim == 2:
        polygons = [polygons]
    elif isinstance(polygons, np.ndarray) and polygons.ndim == 3:
        polygons = list(polygons)
    elif isinstance(polygons, Sequence) and polygons and _is_point(polygons[0]):
        polygons = [polygons]
    items = list(polygons)
    out = np.empty(len(items), dtype=object)
    coords: list[np.ndarray] = []
    owners: list[int] = []
    for i, item in enumerate(items):
        if isinstance(item, shapely.Geometry):
            out[i] = item
            continue
        v = np.asarray(item, dtype=np.float64)
        if v.ndim != 2 or v.shape[-1] != 2:
            raise ValueError(f"polygon {i} must have shape (k, 2), got shape {v.shape}")
        if len(v) >= 3 and np.isfinite(v).all():
            coords.append(v)
            owners.append(i)
        else:
            out[i] = shapely.Polygon()
    if coords:
        flat = np.concatenate(coords)
        ring_idx = np.repeat(np.arange(len(coords)), [len(c) for c in coords])
        rings = shapely.linearrings(flat, indices=ring_idx)
        out[np.array(owners, dtype=np.intp)] = shapely.polygons(rings)
    return out


def _is_point(x: Any) -> bool:
    return (
        isinstance(x, (Sequence, np.ndarray))
        and len(x) == 2
        and not isinstance(x[0], (Sequence, np.ndarray))
    )


def polygon_validity(polygons: Any) -> tuple[np.ndarray, list[str]]:
    """Whether each polygon is valid (simple, non-empty) and shapely's reason if not.

    >>> ok, why = polygon_validity([[[0, 0], [2, 2], [2, 0], [0, 2]], [[0, 0], [1, 0], [0, 1]]])
    >>> ok.tolist(), why[0].split("[")[0]
    ([False, True], 'Self-intersection')
    """
    import shapely

    geoms = as_polygons(polygons)
    valid = shapely.is_valid(geoms) & ~shapely.is_empty(geoms)
    reasons = [
        "Valid Geometry" if v else ("empty polygon" if g.is_empty else shapely.is_valid_reason(g))
        for v, g in zip(valid.tolist(), geoms, strict=True)
    ]
    return valid, reasons


def polygon_iou(pred: Any, truth: Any) -> Any:
    """Element-wise IoU of polygons (area of intersection over area of union).

    Degenerate inputs: an invalid polygon (self-intersecting, a bow-tie) or an empty one
    (fewer than 3 vertices, NaN or infinite coordinates) gives IoU 0, and so do two
    zero-area polygons; check :func:`polygon_validity` to tell these apart. ``pred`` and
    ``truth`` must hold the same number of polygons (or one of them exactly one).

    >>> float(polygon_iou([[0, 0], [2, 0], [2, 2], [0, 2]], [[1, 0], [3, 0], [3, 2], [1, 2]]))
    0.3333333333333333
    >>> float(polygon_iou([[0, 0], [2, 2], [2, 0], [0, 2]], [[0, 0], [2, 0], [2, 2], [0, 2]]))
    0.0
    """
    import shapely

    a = as_polygons(pred)
    b = as_polygons(truth)
    a, b = np.broadcast_arrays(a, b)
    ok = shapely.is_valid(a) & shapely.is_valid(b) & ~shapely.is_empty(a) & ~shapely.is_empty(b)
    iou = np.zeros(a.shape, dtype=np.float64)
    if ok.any():
        aa, bb = a[ok], b[ok]
        inter = shapely.area(shapely.intersection(aa, bb))
        union = shapely.area(aa) + shapely.area(bb) - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            iou[ok] = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    single = (
        not (isinstance(pred, np.ndarray) and pred.ndim == 3) and _single(pred) and _single(truth)
    )
    return scalar_or_array(iou.reshape(())) if single and iou.size == 1 else iou


def _single(x: Any) -> bool:
    import shapely

    if isinstance(x, shapely.Geometry):
        return True
    if isinstance(x, np.ndarray):
        return x.ndim == 2 and x.dtype != object
    return isinstance(x, Sequence) and bool(x) and _is_point(x[0])
