"""Ground-truth validators: a truth the task cannot use raises
:class:`~unireward.errors.GroundTruthError` naming the problem."""

from __future__ import annotations

import math
from typing import Any

from ._json import load_json, short_repr
from ._numbers import as_floats, as_points

__all__ = ["stand_in_frames", "truth_floats", "truth_frames", "truth_object", "truth_points"]


def truth_object(ground_truth: Any, task: str) -> dict[str, Any]:
    """A ground truth as a JSON object: a JSON string is parsed, a dict is used as is.

    >>> truth_object('{"time": [1, 2]}', "temporal grounding")
    {'time': [1, 2]}
    >>> truth_object("[1, 2]", "temporal grounding")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    unireward.errors.GroundTruthError: temporal grounding ground truth must be a JSON ... got list
    """
    from ..errors import GroundTruthError

    if isinstance(ground_truth, str):
        value, err = load_json(ground_truth)
        if err is not None:
            raise GroundTruthError(f"{task} ground truth is {err}")
        ground_truth = value
    if not isinstance(ground_truth, dict):
        raise GroundTruthError(
            f"{task} ground truth must be a JSON object, got {type(ground_truth).__name__}"
        )
    return ground_truth


def truth_floats(obj: dict[str, Any], key: str, n: int, task: str) -> tuple[float, ...]:
    """Field ``key`` of a ground truth as ``n`` finite numbers (else GroundTruthError).

    >>> truth_floats({"boxes": [1, 2, 3, "4"]}, "boxes", 4, "spatial grounding")
    (1.0, 2.0, 3.0, 4.0)
    >>> truth_floats({"time": [1]}, "time", 2, "temporal grounding")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    unireward.errors.GroundTruthError: ...: field 'time' must be a list of 2 finite numbers, got [1]
    """
    from ..errors import GroundTruthError

    if key not in obj:
        raise GroundTruthError(f"{task} ground truth has no field {key!r}")
    v = as_floats(obj[key], n)
    if v is None or not all(map(math.isfinite, v)):
        raise GroundTruthError(
            f"{task} ground truth: field {key!r} must be a list of {n} finite numbers, "
            f"got {short_repr(obj[key])}"
        )
    return tuple(v)


def truth_points(
    obj: dict[str, Any], key: str, n: int, task: str
) -> tuple[tuple[float, float], ...]:
    """Field ``key`` of a ground truth as ``n`` finite points (else GroundTruthError)."""
    from ..errors import GroundTruthError

    if key not in obj:
        raise GroundTruthError(f"{task} ground truth has no field {key!r}")
    pts = as_points(obj[key], n)
    if pts is None or not all(math.isfinite(c) for p in pts for c in p):
        raise GroundTruthError(
            f"{task} ground truth: field {key!r} must be a list of {n} finite [x, y] points, "
            f"got {short_repr(obj[key])}"
        )
    return tuple((p[0], p[1]) for p in pts)


def truth_frames(obj: dict[str, Any], task: str) -> dict[str, tuple[float, ...]]:
    """Field ``boxes`` of a ground truth as a non-empty ``{frame key: box}`` dict.

    Keys are compared as strings later, so non-string keys of a dict given directly are
    turned into strings (``9`` -> ``"9"``).

    >>> truth_frames({"boxes": {1: [0, 0, 1, 1]}}, "tracking")
    {'1': (0.0, 0.0, 1.0, 1.0)}
    """
    from ..errors import GroundTruthError

    boxes = obj.get("boxes")
    if not isinstance(boxes, dict) or not boxes:
        raise GroundTruthError(
            f"{task} ground truth: field 'boxes' must be a non-empty object of frame -> "
            f"[x1, y1, x2, y2], got {short_repr(boxes)}"
        )
    return {
        str(k): truth_floats({f"boxes[{k!r}]": v}, f"boxes[{k!r}]", 4, task)
        for k, v in boxes.items()
    }


def stand_in_frames(ground_truth: Any) -> dict[str, tuple[float, ...]]:
    """The frame keys of a refused truth's ``boxes`` object where they can be read, each with
    a placeholder box (they count toward the key-overlap structure reward, as in the
    reference); ``{}`` otherwise.

    >>> stand_in_frames('{"boxes": {"1": "bad", "2": [0, 0, 1, 1]}}')
    {'1': (0.0, 0.0, 1.0, 1.0), '2': (0.0, 0.0, 1.0, 1.0)}
    >>> stand_in_frames('{"boxes": [1, 2, 3, 4]}'), stand_in_frames("not json")
    ({}, {})
    """
    obj = ground_truth
    if isinstance(obj, str):
        obj, err = load_json(obj)
        if err is not None:
            return {}
    boxes = obj.get("boxes") if isinstance(obj, dict) else None
    if not isinstance(boxes, dict):
        return {}
    return {str(k): (0.0, 0.0, 1.0, 1.0) for k in boxes}
