"""The functional geometry core: pure NumPy functions over one item or a batch.

Each formula lives here; task scorers and metrics only call it. The one exception is
deliberate: :func:`iou_one_interval` and :func:`iou_one_box` repeat the interval and box
IoU for one pair in Python floats, because a single :func:`unireward.score` call spends
several times the arithmetic in array set-up (measured: 3.6x more ``score()`` calls per
second on grounding completions). They perform the same operations in the same order,
and the tests check that they give the same doubles as the array formulas.

=====================  ==========================================================
function               what it computes
=====================  ==========================================================
interval_iou           1-D IoU of ``[start, end]`` spans (``(..., 2)``)
keyframe_similarity    ``exp(-|dt| / 2)`` between key-frame times
box_area, box_iou      area and element-wise IoU of ``[x1, y1, x2, y2]`` boxes
box_iou_pairwise       ``(N, M)`` IoU matrix of two box sets
trajectory_iou         per-frame box IoU with missing frames
mean_trajectory_iou    mean per-frame IoU over the true frames
ragged_mean_iou        the same for frames stored flat (ragged batches)
point_set_distance     mean distance under the best point assignment
point_set_similarity   Gaussian kernel of that distance (sigma 50 grid units)
polygon_iou            IoU of polygons (shapely 2, vectorised)
rbox_to_polygon        corners of rotated boxes ``[cx, cy, w, h, angle_deg]``
iou_one_interval,      the interval and box IoU of one finite pair in Python floats
iou_one_box            (the same doubles as the array functions, without their overhead)
=====================  ==========================================================

Degenerate inputs are defined rather than raising: zero-area boxes, zero-length spans,
swapped corners or ends, NaN and infinite coordinates all give an IoU (or kernel) of 0.
Only wrong shapes raise :class:`ValueError`, naming the shape received.

>>> from unireward.geometry import box_iou, interval_iou
>>> float(interval_iou([0, 10], [5, 15])), float(box_iou([0, 0, 10, 10], [0, 0, 10, 5]))
(0.3333333333333333, 0.5)
"""

from __future__ import annotations

from .boxes import box_area, box_iou, box_iou_pairwise, iou_one_box
from .intervals import (
    INTERVAL_EPS,
    KEYFRAME_SCALE,
    interval_iou,
    iou_one_interval,
    keyframe_similarity,
)
from .points import POINT_SIGMA, point_set_distance, point_set_similarity
from .polygons import as_polygons, polygon_iou, polygon_validity, rbox_to_polygon
from .trajectories import mean_trajectory_iou, ragged_mean_iou, trajectory_iou

__all__ = [
    "INTERVAL_EPS",
    "KEYFRAME_SCALE",
    "POINT_SIGMA",
    "as_polygons",
    "box_area",
    "box_iou",
    "box_iou_pairwise",
    "interval_iou",
    "iou_one_box",
    "iou_one_interval",
    "keyframe_similarity",
    "mean_trajectory_iou",
    "point_set_distance",
    "point_set_similarity",
    "polygon_iou",
    "polygon_validity",
    "ragged_mean_iou",
    "rbox_to_polygon",
    "trajectory_iou",
]
