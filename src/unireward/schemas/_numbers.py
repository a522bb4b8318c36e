"""Number coercion as the reference reads numbers: JSON numbers, booleans and numeric
strings, and the lists and points of them that answers hold."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["as_floats", "as_frame_boxes", "as_number", "as_points"]


def as_number(x: Any) -> float | None:
    """A value as the reference reads a number, or None.

    JSON numbers, booleans (``true`` is 1) and numeric strings (anything ``float()``
    accepts: ``" 12.5 "``, ``"1_000"``, ``"nan"``) are numbers; an integer too large for
    a float becomes an infinity of its sign. Anything else (None, lists, objects, other
    strings) is not.

    >>> as_number("12.3"), as_number(True), as_number("abc"), as_number([1])
    (12.3, 1.0, None, None)
    >>> as_number(-10**400)
    -inf
    """
    t = type(x)
    if t is float or t is int or t is str or t is bool:
        try:
            return float(x)
        except ValueError:
            return None
        except OverflowError:  # an int beyond the float range
            return math.inf if x > 0 else -math.inf
    return None


def as_floats(x: Any, n: int) -> list[float] | None:
    """``x`` as a list of ``n`` floats when it is a JSON list of ``n`` numbers, else None.

    >>> as_floats([1, "2", False, 4.5], 4), as_floats([[1, 2, 3, 4]], 4), as_floats([1, 2], 4)
    ([1.0, 2.0, 0.0, 4.5], None, None)
    """
    if type(x) is not list or len(x) != n:
        return None
    try:
        return list(map(float, x))
    except (TypeError, ValueError, OverflowError):
        pass
    out = []
    for v in x:  # the slow path: overflowing ints, or something that is not a number
        f = as_number(v)
        if f is None:
            return None
        out.append(f)
    return out


def as_points(x: Any, n: int) -> list[list[float]] | None:
    """``x`` as ``n`` points ``[x, y]`` (each a list of 2 numbers), else None.

    >>> as_points([[1, 2], ["3", 4], [5, 6]], 3), as_points([[1, 2], [3, 4]], 3)
    ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], None)
    """
    if type(x) is not list or len(x) != n:
        return None
    out = []
    for p in x:
        v = as_floats(p, 2)
        if v is None:
            return None
        out.append(v)
    return out


def as_frame_boxes(x: dict[str, Any]) -> tuple[dict[str, list[float] | None], bool]:
    """Per-frame boxes of a ``{frame: [x1, y1, x2, y2]}`` object.

    Returns the boxes (None where a frame's value is not a 4-number list) and whether
    every value is a 4-number list (true for an empty object).

    >>> as_frame_boxes({"1": [0, 0, 1, 1], "2": "oops"})
    ({'1': [0.0, 0.0, 1.0, 1.0], '2': None}, False)
    """
    out = {k: as_floats(v, 4) for k, v in x.items()}
    return out, None not in out.values()
