"""Binary masks: IoU, gIoU / cIoU over a set, and the video measures J, F and J&F.

Pure NumPy (plus :func:`scipy.ndimage.distance_transform_edt` for the boundary tolerance). A
mask is an array whose last two axes are ``(H, W)``: ``bool`` as is, any other dtype with
every non-zero value counted as foreground. COCO run-length encodings are decoded by
:func:`decode_rle` (``pycocotools``, the ``masks`` extra).

Conventions for empty masks (those of the DAVIS evaluation):

* **IoU** of two empty masks is 1 (nothing to find, nothing predicted); an empty mask
  against a non-empty one is 0.
* **cIoU** of a set whose unions are all empty is 1.
* **Boundary F** of two masks without boundary pixels is 1; when only one of them has
  boundary pixels it is 0.

=====================  ==========================================================
function               what it computes
=====================  ==========================================================
mask_iou               IoU over the last two axes (broadcasting over the others)
mask_set_scores        per-image intersections, unions and IoUs of a set
giou, ciou             mean per-image IoU; sum of intersections / sum of unions
boundary_map           DAVIS boundary pixels of a mask
boundary_radius        tolerance in pixels: ``ceil(tolerance * image diagonal)``
boundary_f             boundary F-measure (per frame over leading axes)
video_mask_scores      per-frame J, boundary precision, recall and F of a video
j_and_f                ``{"J", "F", "J&F"}`` of one video
decode_rle             a COCO RLE as a bool mask
=====================  ==========================================================

>>> a = np.zeros((4, 4), bool); a[:2] = True
>>> b = np.zeros((4, 4), bool); b[1:3] = True
>>> float(mask_iou(a, b)), float(mask_iou(a[:0, :0], b[:0, :0]))
(0.3333333333333333, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "BOUNDARY_TOLERANCE",
    "JFMeans",
    "MaskSetScores",
    "VideoMaskScores",
    "as_mask",
    "boundary_f",
    "boundary_map",
    "boundary_radius",
    "ciou",
    "decode_rle",
    "giou",
    "j_and_f",
    "mask_iou",
    "mask_set_scores",
    "video_mask_scores",
]

#: DAVIS boundary tolerance, as a fraction of the image diagonal.
BOUNDARY_TOLERANCE = 0.0075


def as_mask(mask: Any, name: str = "mask", ndim: int | None = None) -> np.ndarray:
    """``mask`` as a bool array with at least two axes (non-zero is foreground).

    Args:
        mask: an array-like of shape ``(..., H, W)``.
        name: what to call it in error messages.
        ndim: the exact number of axes wanted, if any.

    Raises:
        ValueError: fewer than two axes (or not ``ndim``), naming the shape received.

    >>> as_mask([[0, 2], [0.5, 0]]).tolist()
    [[False, True], [True, False]]
    >>> as_mask([1, 0])
    Traceback (most recent call last):
    ...
    ValueError: mask must have shape (..., H, W), got shape (2,)
    """
    a = np.asarray(mask)
    if a.dtype != bool:
        a = a != 0
    if a.ndim < 2 or (ndim is not None and a.ndim != ndim):
        want = (
            "(..., H, W)"
            if ndim is None
            else "(" + ", ".join(["T"] * (ndim - 2) + ["H", "W"]) + ")"
        )
        raise ValueError(f"{name} must have shape {want}, got shape {a.shape}")
    return a


def _counts(p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intersection and union pixel counts over the last two axes (int64)."""
    if p.shape[-2:] != t.shape[-2:]:
        raise ValueError(f"mask sizes differ: prediction {p.shape}, target {t.shape}")
    inter = np.logical_and(p, t).sum(axis=(-2, -1), dtype=np.int64)
    union = np.logical_or(p, t).sum(axis=(-2, -1), dtype=np.int64)
    return inter, union


def _ratio(inter: np.ndarray, union: np.ndarray) -> np.ndarray:
    """``inter / union``, and 1 where the union is empty."""
    inter = np.asarray(inter, dtype=np.float64)
    union = np.asarray(union, dtype=np.float64)
    return np.where(union > 0, inter / np.maximum(union, 1.0), 1.0)


def mask_iou(pred: Any, target: Any) -> Any:
    """IoU of binary masks over the last two axes; the leading axes broadcast.

    Two empty masks score 1; an empty mask against a non-empty one scores 0.

    Args:
        pred: ``(..., H, W)`` masks.
        target: ``(..., H, W)`` masks of the same ``H, W``.

    Returns:
        A float64 array of the broadcast leading shape (a 0-d value for two single masks).

    >>> full, half = np.ones((2, 4), bool), np.array([[1, 1, 0, 0]] * 2)
    >>> mask_iou(np.stack([full, half]), full).tolist()
    [1.0, 0.5]
    >>> float(mask_iou(np.zeros((3, 3)), np.eye(3)))
    0.0
    """
    p, t = as_mask(pred, "pred"), as_mask(target, "target")
    inter, union = _counts(p, t)
    r = _ratio(inter, union)
    return r[()] if r.ndim == 0 else r


@dataclass(frozen=True)
class MaskSetScores:
    """Per-image pixel counts of a set of (prediction, target) masks.

    Attributes:
        intersections: ``(N,)`` int64 intersection areas.
        unions: ``(N,)`` int64 union areas.
    """

    intersections: np.ndarray
    unions: np.ndarray

    @property
    def ious(self) -> np.ndarray:
        """``(N,)`` per-image IoUs (1 where both masks are empty)."""
        return _ratio(self.intersections, self.unions)

    @property
    def giou(self) -> float:
        """Mean of the per-image IoUs."""
        return float(self.ious.mean())

    @property
    def ciou(self) -> float:
        """Sum of intersections / sum of unions (1 when every union is empty)."""
        union = int(self.unions.sum())
        return float(self.intersections.sum()) / union if union else 1.0


def mask_set_scores(preds: Iterable[Any], targets: Iterable[Any]) -> MaskSetScores:
    """Pixel counts of each (prediction, target) pair; images may differ in size.

    Args:
        preds: ``(H_i, W_i)`` masks, or one ``(N, H, W)`` array.
        targets: as many masks, each the size of its prediction.

    Raises:
        ValueError: an empty set, unequal lengths, or a pair of different sizes.

    >>> s = mask_set_scores([np.ones((2, 2)), np.zeros((1, 3))], [np.eye(2), np.ones((1, 3))])
    >>> s.intersections.tolist(), s.unions.tolist(), s.ious.tolist()
    ([2, 0], [4, 3], [0.5, 0.0])
    """
    inters: list[int] = []
    unions: list[int] = []
    pl, tl = list(preds), list(targets)
    if len(pl) != len(tl):
        raise ValueError(f"{len(pl)} predicted masks for {len(tl)} targets")
    if not pl:
        raise ValueError("no masks to score")
    for i, (p, t) in enumerate(zip(pl, tl, strict=True)):
        pm, tm = as_mask(p, f"pred[{i}]", 2), as_mask(t, f"target[{i}]", 2)
        if pm.shape != tm.shape:
            raise ValueError(f"mask sizes differ at {i}: prediction {pm.shape}, target {tm.shape}")
        a, b = _counts(pm, tm)
        inters.append(int(a))
        unions.append(int(b))
    return MaskSetScores(np.array(inters, dtype=np.int64), np.array(unions, dtype=np.int64))


def giou(preds: Iterable[Any], targets: Iterable[Any]) -> float:
    """gIoU: the mean of the per-image IoUs of a set.

    >>> giou([np.ones((2, 2)), np.zeros((2, 2))], [np.eye(2), np.zeros((2, 2))])
    0.75
    """
    return mask_set_scores(preds, targets).giou


def ciou(preds: Iterable[Any], targets: Iterable[Any]) -> float:
    """cIoU: the sum of intersections over the sum of unions of a set.

    Large objects weigh more than in :func:`giou`; pairs of empty masks add nothing.

    >>> ciou([np.ones((2, 2)), np.zeros((2, 2))], [np.eye(2), np.zeros((2, 2))])
    0.5
    """
    return mask_set_scores(preds, targets).ciou


def boundary_map(mask: Any) -> np.ndarray:
    """The DAVIS boundary of ``(..., H, W)`` masks: pixels whose value differs from their
    right, lower or lower-right neighbour.

    Beyond the right and bottom edges a pixel's neighbour is taken to be itself, so the
    image border is never a boundary. The boundary is one pixel thick and lies on both
    sides of the region's outline (outside on the top and left, inside on the bottom and
    right).

    >>> m = np.zeros((4, 5), bool); m[1:3, 1:3] = True
    >>> boundary_map(m).astype(int)
    array([[1, 1, 1, 0, 0],
           [1, 0, 1, 0, 0],
           [1, 1, 1, 0, 0],
           [0, 0, 0, 0, 0]])
    """
    m = as_mask(mask)
    pad = [(0, 0)] * (m.ndim - 2) + [(0, 1), (0, 1)]
    e = np.pad(m, pad, mode="edge")
    right, below, diag = e[..., :-1, 1:], e[..., 1:, :-1], e[..., 1:, 1:]
    return (m != right) | (m != below) | (m != diag)


def boundary_radius(shape: tuple[int, ...], tolerance: float = BOUNDARY_TOLERANCE) -> int:
    """The boundary match distance in pixels: ``ceil(tolerance * sqrt(H² + W²))``.

    >>> boundary_radius((480, 854)), boundary_radius((64, 64)), boundary_radius((4, 4))
    (8, 1, 1)
    """
    h, w = shape[-2:]
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    return math.ceil(tolerance * math.hypot(h, w))


def _near(boundary: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within ``radius`` (Euclidean) of a boundary pixel: the dilation of the
    boundary by the disk ``dx² + dy² <= radius²``.

    Computed as a thresholded Euclidean distance transform, which gives the same set as
    the disk dilation in a time that does not grow with the radius. ``boundary`` must
    hold at least one pixel.
    """
    from scipy.ndimage import distance_transform_edt

    return distance_transform_edt(~boundary) <= radius


def _boundary_pr(p: np.ndarray, t: np.ndarray, radius: int) -> tuple[float, float]:
    """DAVIS boundary precision and recall of one ``(H, W)`` pair."""
    bp, bt = boundary_map(p), boundary_map(t)
    n_p, n_t = int(np.count_nonzero(bp)), int(np.count_nonzero(bt))
    if n_p == 0 and n_t == 0:
        return 1.0, 1.0
    if n_p == 0:
        return 1.0, 0.0
    if n_t == 0:
        return 0.0, 1.0
    # every boundary pixel lies in the box around both boundaries: distances to the
    # nearest one never need pixels outside it
    both = bp | bt
    rows, cols = np.flatnonzero(both.any(axis=1)), np.flatnonzero(both.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    bp, bt = bp[box], bt[box]
    precision = int(np.count_nonzero(bp & _near(bt, radius))) / n_p
    recall = int(np.count_nonzero(bt & _near(bp, radius))) / n_t
    return precision, recall


def _f_measure(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    s = precision + recall
    return np.where(s > 0, 2 * precision * recall / np.where(s > 0, s, 1.0), 0.0)


class JFMeans:
    """J, F and J&F from ``j`` and ``f`` arrays (per frame or per video): each the mean of
    its array, and ``J&F = (J + F) / 2``."""

    j: np.ndarray
    f: np.ndarray

    @property
    def j_mean(self) -> float:
        """J: the mean of ``j``."""
        return float(self.j.mean())

    @property
    def f_mean(self) -> float:
        """F: the mean of ``f``."""
        return float(self.f.mean())

    @property
    def j_and_f(self) -> float:
        """J&F: ``(J + F) / 2``."""
        return (self.j_mean + self.f_mean) / 2


@dataclass(frozen=True)
class VideoMaskScores(JFMeans):
    """Per-frame measures of one video (``(T,)`` float64 arrays).

    Attributes:
        j: mask IoU of each frame.
        precision: boundary precision of each frame.
        recall: boundary recall of each frame.
    """

    j: np.ndarray
    precision: np.ndarray
    recall: np.ndarray

    @property
    def f(self) -> np.ndarray:  # type: ignore[override]  # derived, not stored
        """Boundary F of each frame: ``2PR / (P + R)`` (0 when both are 0)."""
        return _f_measure(self.precision, self.recall)

    def as_dict(self) -> dict[str, float]:
        """``{"J": ..., "F": ..., "J&F": ...}``."""
        return {"J": self.j_mean, "F": self.f_mean, "J&F": self.j_and_f}


def video_mask_scores(
    pred: Any, target: Any, tolerance: float = BOUNDARY_TOLERANCE
) -> VideoMaskScores:
    """Per-frame J and boundary precision / recall of a ``(T, H, W)`` video.

    Every frame counts (unlike the DAVIS semi-supervised protocol, which leaves out the
    first and last frames).

    Args:
        pred: ``(T, H, W)`` predicted masks.
        target: ``(T, H, W)`` true masks.
        tolerance: boundary tolerance as a fraction of the image diagonal.

    >>> v = np.zeros((2, 8, 8), bool); v[:, 2:6, 2:6] = True
    >>> s = video_mask_scores(v, np.stack([v[0], np.zeros((8, 8), bool)]))
    >>> s.j.tolist(), s.f.tolist(), s.as_dict()
    ([1.0, 0.0], [1.0, 0.0], {'J': 0.5, 'F': 0.5, 'J&F': 0.5})
    """
    p, t = as_mask(pred, "pred", 3), as_mask(target, "target", 3)
    if p.shape != t.shape:
        raise ValueError(f"video shapes differ: prediction {p.shape}, target {t.shape}")
    if p.shape[0] == 0:
        raise ValueError("a video needs at least one frame")
    inter, union = _counts(p, t)
    radius = boundary_radius(p.shape, tolerance)
    pr = np.array([_boundary_pr(a, b, radius) for a, b in zip(p, t, strict=True)], dtype=np.float64)
    return VideoMaskScores(_ratio(inter, union), pr[:, 0].copy(), pr[:, 1].copy())


def boundary_f(pred: Any, target: Any, tolerance: float = BOUNDARY_TOLERANCE) -> Any:
    """DAVIS boundary F-measure of ``(..., H, W)`` masks (one value per leading index).

    The boundaries (:func:`boundary_map`) match within :func:`boundary_radius` pixels
    (dilation by a disk, computed as a Euclidean distance transform); precision is the
    share of predicted boundary pixels near a true one, recall the reverse, and
    ``F = 2PR / (P + R)``. No boundary on either side gives 1, on one side only 0.

    >>> m = np.zeros((40, 40), bool); m[10:30, 10:30] = True
    >>> float(boundary_f(m, m)), float(boundary_f(m, np.roll(m, 1, axis=1)))
    (1.0, 1.0)
    >>> float(boundary_f(m, np.roll(m, 5, axis=1))), float(boundary_f(m, 0 * m))
    (0.45, 0.0)
    """
    p, t = as_mask(pred, "pred"), as_mask(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"mask shapes differ: prediction {p.shape}, target {t.shape}")
    lead = p.shape[:-2]
    flat_p = p.reshape((-1, *p.shape[-2:]))
    flat_t = t.reshape((-1, *t.shape[-2:]))
    radius = boundary_radius(p.shape, tolerance)
    pr = np.array(
        [_boundary_pr(a, b, radius) for a, b in zip(flat_p, flat_t, strict=True)], dtype=np.float64
    ).reshape((*lead, 2))
    f = _f_measure(pr[..., 0], pr[..., 1])
    return f[()] if f.ndim == 0 else f


def j_and_f(pred: Any, target: Any, tolerance: float = BOUNDARY_TOLERANCE) -> dict[str, float]:
    """J, F and J&F of one ``(T, H, W)`` video (see :func:`video_mask_scores`).

    >>> v = np.zeros((1, 8, 8), bool); v[0, 2:6, 2:6] = True
    >>> j_and_f(v, v)
    {'J': 1.0, 'F': 1.0, 'J&F': 1.0}
    """
    return video_mask_scores(pred, target, tolerance).as_dict()


def decode_rle(rle: Mapping[str, Any]) -> np.ndarray:
    """Decode a COCO run-length encoding into an ``(H, W)`` bool mask.

    Accepts compressed counts (``bytes`` or ``str``, as ``pycocotools`` writes them to
    JSON) and uncompressed counts (a list of run lengths). Needs ``pycocotools``
    (``pip install 'unireward[masks]'``).

    Raises:
        ValueError: not a ``{"size": [h, w], "counts": ...}`` mapping, or counts that do
            not decode.
        unireward.errors.MissingExtraError: ``pycocotools`` is not installed.

    >>> decode_rle({"size": [2, 3], "counts": [1, 2, 3]}).astype(int).tolist()  # column-major
    [[0, 1, 0], [1, 0, 0]]
    """
    try:
        from pycocotools import mask as mask_utils
    except ImportError as exc:
        from ..errors import missing_extra

        raise missing_extra("pycocotools", "masks") from exc
    try:
        h, w = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a COCO RLE ({{'size': [h, w], 'counts': ...}}): {exc!r}") from exc
    if h < 0 or w < 0:
        raise ValueError(f"RLE size must be >= 0, got {[h, w]}")
    if isinstance(counts, list):
        if any(type(c) is not int or c < 0 for c in counts) or sum(counts) != h * w:
            raise ValueError(
                f"uncompressed RLE counts must be non-negative ints summing to {h * w}"
            )
        obj = mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    elif isinstance(counts, (str, bytes)):
        try:
            raw = counts.encode("ascii") if isinstance(counts, str) else bytes(counts)
        except UnicodeEncodeError as exc:
            raise ValueError("compressed RLE counts must be ASCII text") from exc
        runs = _compressed_counts(raw)
        # pycocotools trusts the counts: a malformed string or runs that overrun the
        # image would read or write out of bounds, so they are checked here first
        if runs is None or any(c < 0 for c in runs) or sum(runs) != h * w:
            raise ValueError(f"compressed RLE counts are malformed or do not cover {h}x{w} pixels")
        obj = {"size": [h, w], "counts": raw}
    else:
        raise ValueError(f"RLE counts must be a list, str or bytes, got {type(counts).__name__}")
    decoded = mask_utils.decode(obj)
    return np.asarray(decoded, dtype=bool).reshape(h, w)


def _compressed_counts(raw: bytes) -> list[int] | None:
    """The run lengths of a compressed COCO RLE string, or None if it is malformed.

    Each run is written in 5-bit groups, least significant first, as characters
    ``48 + group`` with bit 0x20 set on all but the last group; bit 0x10 of the last group
    is the sign. From the fourth run on, the value is stored as a difference from the run
    two places before.
    """
    runs: list[int] = []
    i, n = 0, len(raw)
    while i < n:
        x = shift = 0
        while True:
            if i >= n:
                return None
            c = raw[i] - 48
            if not 0 <= c < 64:
                return None
            i += 1
            if shift > 40:  # no real run needs more than 8 groups; C would overflow
                return None
            x |= (c & 0x1F) << shift
            shift += 5
            if not c & 0x20:
                if c & 0x10:
                    x -= 1 << shift
                break
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs
