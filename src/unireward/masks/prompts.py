"""Turning a segmentation answer (0-1000 grid) into pixel prompts for SAM2."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigurationError

__all__ = ["GRID", "SamPrompt", "keyframe_index", "prompt_from_answer"]

GRID = 1000.0


@dataclass(frozen=True)
class SamPrompt:
    """Pixel prompts: ``box`` ``[x1, y1, x2, y2]`` (re-ordered), ``points`` ``(6, 2)`` and
    ``labels`` (1 positive, 0 negative)."""

    box: np.ndarray
    points: np.ndarray
    labels: np.ndarray


def _pixel(v: float, size: int) -> int:
    """Grid -> pixel: ``round(v * size / 1000)`` clipped to ``[0, size - 1]``."""
    return int(min(max(round(float(v) * size / GRID), 0), size - 1))


def prompt_from_answer(answer: dict[str, Any], width: int, height: int) -> SamPrompt:
    """Map an answer's box and points from the 0-1000 grid to pixels.

    >>> p = prompt_from_answer({"boxes": [500, 500, 0, 0], "positive_points": [[500, 500]] * 3,
    ...                         "negative_points": [[1000, 0]] * 3}, width=200, height=100)
    >>> p.box.tolist(), p.points[0].tolist(), p.points[3].tolist(), p.labels.tolist()
    ([0.0, 0.0, 100.0, 50.0], [100.0, 50.0], [199.0, 0.0], [1, 1, 1, 0, 0, 0])
    """
    try:
        x1, y1, x2, y2 = (float(v) for v in answer["boxes"])
        pos = [(float(x), float(y)) for x, y in answer["positive_points"]]
        neg = [(float(x), float(y)) for x, y in answer["negative_points"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"not a segmentation answer: {exc!r}") from exc
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2, *(c for p in pos + neg for c in p))):
        raise ConfigurationError("segmentation answer has non-finite coordinates")
    px = [_pixel(x1, width), _pixel(x2, width)]
    py = [_pixel(y1, height), _pixel(y2, height)]
    box = np.array([min(px), min(py), max(px), max(py)], dtype=np.float32)
    pts = np.array([[_pixel(x, width), _pixel(y, height)] for x, y in pos + neg], dtype=np.float32)
    labels = np.array([1] * len(pos) + [0] * len(neg), dtype=np.int32)
    return SamPrompt(box, pts, labels)


def keyframe_index(time_s: float, fps: float, n_frames: int) -> int:
    """The prompt frame of a video answer: ``round(time * fps)`` clipped to the video.

    >>> keyframe_index(2.4, 5, 100), keyframe_index(99.0, 5, 100), keyframe_index(-1, 5, 10)
    (12, 99, 0)
    """
    if not math.isfinite(float(time_s)) or fps <= 0:
        raise ConfigurationError(f"bad keyframe time {time_s!r} or fps {fps!r}")
    return int(min(max(round(float(time_s) * fps), 0), n_frames - 1))
