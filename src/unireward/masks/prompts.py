"""From a segmentation answer (0-1000 grid) to pixel prompts for SAM2.

A segmentation answer is ``{"boxes": [x1, y1, x2, y2], "positive_points": [[x, y] x 3],
"negative_points": [[x, y] x 3]}`` plus, for a video, ``"time"`` (the key frame, in
seconds). Coordinates are on the 0-1000 grid of the frame.

* Grid to pixels: ``x * W / 1000`` and ``y * H / 1000``, rounded with Python's
  :func:`round` (half to even), then clipped to the pixel range ``[0, W - 1]`` /
  ``[0, H - 1]`` (:func:`grid_to_pixels`).
* The box corners are re-ordered (``min``, ``max``) after mapping.
* Points are listed positives first (label 1), then negatives (label 0).
* Video key frame: ``round(time * fps)`` clipped to ``[0, T - 1]`` (:func:`keyframe_index`).

Answers are model output: :func:`parse_segmentation_answer` never raises on them; it
returns a status and a reason instead.

>>> p = prompt_from_answer({"boxes": [500, 500, 0, 0], "positive_points": [[500, 500]] * 3,
...                         "negative_points": [[1000, 0]] * 3}, width=200, height=100)
>>> p.box.tolist(), p.points[0].tolist(), p.points[3].tolist(), p.labels.tolist()
([0.0, 0.0, 100.0, 50.0], [100.0, 50.0], [199.0, 0.0], [1, 1, 1, 0, 0, 0])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..completion import extract_answer
from ..errors import ConfigurationError, InputError
from ..result import Status
from ..schemas import as_floats, as_number, as_points, load_json, short_repr

__all__ = [
    "GRID",
    "GridAnswer",
    "SamPrompt",
    "grid_to_pixels",
    "keyframe_index",
    "parse_segmentation_answer",
    "prompt_from_answer",
]

#: The answers' coordinate grid: 0-1000 across the frame.
GRID = 1000.0


@dataclass(frozen=True)
class GridAnswer:
    """A usable segmentation answer, still on the 0-1000 grid.

    Attributes:
        box: ``(x1, y1, x2, y2)`` as given (not re-ordered).
        positive: three ``(x, y)`` points.
        negative: three ``(x, y)`` points.
        time: the key frame in seconds, or None (an image answer).
    """

    box: tuple[float, float, float, float]
    positive: tuple[tuple[float, float], ...]
    negative: tuple[tuple[float, float], ...]
    time: float | None = None


@dataclass(frozen=True)
class SamPrompt:
    """Pixel prompts for one frame.

    Attributes:
        box: ``(4,)`` float32 ``[x1, y1, x2, y2]`` with ``x1 <= x2`` and ``y1 <= y2``.
        points: ``(6, 2)`` float32 ``[x, y]``: the positive points, then the negative ones.
        labels: ``(6,)`` int32: 1 for positive points, 0 for negative ones.
    """

    box: np.ndarray
    points: np.ndarray
    labels: np.ndarray


def grid_to_pixels(values: Any, size: int) -> np.ndarray:
    """Grid coordinates along an axis of ``size`` pixels: ``round(v * size / 1000)``
    (half to even) clipped to ``[0, size - 1]``.

    >>> grid_to_pixels([0, 250, 999, 1000, -5, 1e9], 640).tolist()
    [0, 160, 639, 639, 0, 639]
    >>> grid_to_pixels([1, 3], 500).tolist()  # 0.5 -> 0 and 1.5 -> 2 (half to even)
    [0, 2]
    """
    if int(size) < 1:
        raise ConfigurationError(f"image size must be >= 1 pixel, got {size!r}")
    v = np.asarray(values, dtype=np.float64)
    if not np.isfinite(v).all():
        raise InputError("grid coordinates must be finite")
    return np.clip(np.round(v * int(size) / GRID), 0, int(size) - 1).astype(np.int64)


def keyframe_index(time_s: float, fps: float, n_frames: int) -> int:
    """The prompt frame of a video answer: ``round(time * fps)`` (half to even) clipped
    to ``[0, n_frames - 1]``.

    >>> keyframe_index(2.4, 5, 100), keyframe_index(0.5, 5, 100), keyframe_index(99.0, 5, 100)
    (12, 2, 99)
    >>> keyframe_index(-1, 5, 10)
    0
    """
    t, f = float(time_s), float(fps)
    if not (math.isfinite(f) and f > 0):
        raise ConfigurationError(f"fps must be a finite number > 0, got {fps!r}")
    if int(n_frames) < 1:
        raise ConfigurationError(f"a video needs at least one frame, got {n_frames!r}")
    if not math.isfinite(t):
        raise InputError(f"key-frame time must be finite, got {time_s!r}")
    return int(min(max(round(t * f), 0), int(n_frames) - 1))


def _as_object(answer: Any) -> tuple[Any, Status, str | None]:
    """A dict from an answer given as a dict, JSON text or a completion with answer tags."""
    if isinstance(answer, Mapping):
        return answer, Status.OK, None
    if isinstance(answer, str):
        inner = extract_answer(answer)
        value, reason = load_json(answer.strip() if inner is None else inner)
        if reason is not None:
            return None, Status.MALFORMED_JSON, reason
        if not isinstance(value, dict):
            return None, Status.SCHEMA_ERROR, f"answer is not a JSON object: {short_repr(value)}"
        return value, Status.OK, None
    return (
        None,
        Status.SCHEMA_ERROR,
        f"answer must be a dict or JSON text, got {type(answer).__name__}",
    )


def parse_segmentation_answer(
    answer: Any, *, video: bool = False
) -> tuple[GridAnswer | None, Status, str | None]:
    """Check a segmentation answer; never raises on the answer.

    Numbers follow the scoring schema (JSON numbers, booleans or numeric strings for the
    box and points; a JSON number for a video's ``time``). Every coordinate must be
    finite.

    Args:
        answer: a dict, JSON text, or a completion holding ``<answer>{...}</answer>``.
        video: whether ``time`` is required.

    Returns:
        ``(GridAnswer, Status.OK, None)``, or ``(None, status, reason)``.

    >>> parse_segmentation_answer('{"boxes": [1, 2, 3, 4]}')[1:]
    (<Status.SCHEMA_ERROR: 'schema_error'>, 'positive_points must be 3 [x, y] points, got missing')
    >>> ok = {"boxes": [1, 2, 3, 4], "positive_points": [[1, 1]] * 3,
    ...       "negative_points": [[0, 0]] * 3}
    >>> parse_segmentation_answer(dict(ok, time="2"), video=True)[2]
    'time must be a JSON number, got "2"'
    >>> parse_segmentation_answer(dict(ok, time=2), video=True)[0].time
    2.0
    """
    obj, status, reason = _as_object(answer)
    if obj is None:
        return None, status, reason
    box = as_floats(obj.get("boxes"), 4)
    if box is None:
        return (
            None,
            Status.SCHEMA_ERROR,
            f"boxes must be [x1, y1, x2, y2], got {short_repr(obj.get('boxes', 'missing'))}",
        )
    pts = {}
    for key in ("positive_points", "negative_points"):
        p = as_points(obj.get(key), 3)
        if p is None:
            got = short_repr(obj[key]) if key in obj else "missing"
            return None, Status.SCHEMA_ERROR, f"{key} must be 3 [x, y] points, got {got}"
        pts[key] = tuple((x, y) for x, y in p)
    time: float | None = None
    if video:
        raw = obj.get("time")
        if type(raw) not in (int, float, bool):
            got = short_repr(raw) if "time" in obj else "missing"
            return None, Status.SCHEMA_ERROR, f"time must be a JSON number, got {got}"
        time = as_number(raw)
    values = [*box, *(c for key in pts for xy in pts[key] for c in xy)]
    if time is not None:
        values.append(time)
    if not all(math.isfinite(v) for v in values):
        return None, Status.NON_FINITE, "the answer has a NaN or infinite coordinate or time"
    b = (box[0], box[1], box[2], box[3])
    return GridAnswer(b, pts["positive_points"], pts["negative_points"], time), Status.OK, None


def prompt_from_answer(
    answer: GridAnswer | Mapping[str, Any] | str, width: int, height: int
) -> SamPrompt:
    """Pixel prompts of an answer on a ``width x height`` frame.

    Raises:
        unireward.errors.InputError: the answer is not usable (use
            :func:`parse_segmentation_answer` first to get a status instead).

    >>> a = {"boxes": [900, 800, 100, 200], "positive_points": [[0, 0], [1000, 1000], [500, 250]],
    ...      "negative_points": [[10, 10], [20, 20], [30, 30]]}
    >>> p = prompt_from_answer(a, width=640, height=480)
    >>> p.box.tolist(), p.points[:3].tolist()
    ([64.0, 96.0, 576.0, 384.0], [[0.0, 0.0], [639.0, 479.0], [320.0, 120.0]])
    """
    if isinstance(answer, GridAnswer):
        g = answer
    else:
        parsed, _status, reason = parse_segmentation_answer(answer)
        if parsed is None:
            raise InputError(f"unusable segmentation answer: {reason}")
        g = parsed
    xs = grid_to_pixels([g.box[0], g.box[2]], width)
    ys = grid_to_pixels([g.box[1], g.box[3]], height)
    box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], dtype=np.float32)
    pts = np.asarray([*g.positive, *g.negative], dtype=np.float64).reshape(-1, 2)
    points = np.stack([grid_to_pixels(pts[:, 0], width), grid_to_pixels(pts[:, 1], height)], axis=1)
    labels = np.array([1] * len(g.positive) + [0] * len(g.negative), dtype=np.int32)
    return SamPrompt(box, points.astype(np.float32), labels)
