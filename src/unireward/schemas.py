"""Answer schemas of the structured tasks.

Each structured task has two views of its answer schema that agree on what is valid:

* a pydantic model (frozen, extra keys ignored, numbers accepted as JSON numbers, booleans
  or numeric strings, exactly as Python's ``float()`` reads them), with a
  :class:`~pydantic.TypeAdapter` built once here. It is the documented schema and writes
  the reason text when an answer does not fit;
* small hand-written checkers (:func:`as_floats`, :func:`as_points`, :func:`as_frame_boxes`)
  that the scorers use on the hot path: ``json.loads`` plus a few ``type(...) is`` tests
  per answer, about ten times cheaper than a model validation.

The tests check that both views accept and reject the same answers.

>>> ANSWER_ADAPTERS["temporal grounding"].validate_python({"time": ["1.5", 3]}).time
(1.5, 3.0)
>>> schema_reason("spatial grounding", {"boxes": [[1, 2, 3, 4]]})
'boxes.0: Value error, expected a number, got [1, 2, 3, 4] (+3 more)'
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

__all__ = [
    "ANSWER_ADAPTERS",
    "Issues",
    "PolygonAnswer",
    "SegmentationImageAnswer",
    "SegmentationVideoAnswer",
    "SpatialAnswer",
    "SpatioTemporalAnswer",
    "TemporalAnswer",
    "TrackingAnswer",
    "as_floats",
    "as_frame_boxes",
    "as_number",
    "as_points",
    "decode_json",
    "load_json",
    "schema_reason",
    "short_repr",
    "truth_floats",
    "truth_frames",
    "truth_object",
    "truth_points",
]


# --------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------


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


_decoder = json.JSONDecoder()
_decode = _decoder.decode
_scan_once = _decoder.scan_once  # type: ignore[attr-defined]  # json.loads without its whitespace skips


def load_json(text: str) -> tuple[Any, str | None]:
    """``(value, None)`` for strict JSON (``json.loads``), else ``(None, reason)``.

    Duplicate keys keep the last value; ``NaN``, ``Infinity`` and ``1e309`` are numbers.

    >>> load_json('{"a": 1, "a": 2}')
    ({'a': 2}, None)
    >>> load_json("{'a': 1}")[1]
    'not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'
    """
    try:  # the C scanner alone when it takes the whole text (no surrounding whitespace)
        obj, end = _scan_once(text, 0)
        if end == len(text):
            return obj, None
    except (StopIteration, ValueError, RecursionError):
        pass
    return decode_json(text)


def decode_json(text: str) -> tuple[Any, str | None]:
    """:func:`load_json` without its scanner shortcut: ``json.loads`` itself, the error as
    text (for callers that have already tried the scanner)."""
    try:
        return _decode(text), None
    except (ValueError, RecursionError) as exc:
        return None, f"not valid JSON: {exc}"[:200]


def short_repr(x: Any, limit: int = 60) -> str:
    """A JSON-ish rendering of ``x`` cut to ``limit`` characters.

    >>> short_repr({"boxes": list(range(40))})
    '{"boxes": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, ...'
    """
    try:
        text = json.dumps(x, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------
# Pydantic models
# --------------------------------------------------------------------------------------


def _number(x: Any) -> float:
    f = as_number(x)
    if f is None:
        raise ValueError(f"expected a number, got {short_repr(x, 30)}")
    return f


def _json_number(x: Any) -> float:
    t = type(x)
    if t is float or t is int or t is bool:
        return _number(x)
    raise ValueError(f"expected a JSON number (not a string or list), got {short_repr(x, 30)}")


#: A number: JSON number, boolean or numeric string.
Num = Annotated[float, BeforeValidator(_number)]
#: A JSON number or boolean only (the video key-frame time rejects strings).
JsonNum = Annotated[float, BeforeValidator(_json_number)]
Interval = tuple[Num, Num]
Box = tuple[Num, Num, Num, Num]
Point = tuple[Num, Num]
ThreePoints = tuple[Point, Point, Point]

_CONFIG = ConfigDict(frozen=True, extra="ignore")


class TemporalAnswer(BaseModel):
    """``{"time": [start, end]}`` in seconds."""

    model_config = _CONFIG
    time: Interval


class SpatialAnswer(BaseModel):
    """``{"boxes": [x1, y1, x2, y2]}``: one flat box (a nested list is not accepted)."""

    model_config = _CONFIG
    boxes: Box


class SpatioTemporalAnswer(BaseModel):
    """``{"time": [start, end], "boxes": {"<second>": [x1, y1, x2, y2], ...}}``."""

    model_config = _CONFIG
    time: Interval
    boxes: dict[str, Box]


class TrackingAnswer(BaseModel):
    """``{"boxes": {"1": [x1, y1, x2, y2], ..., "32": [...]}}``: one box per second."""

    model_config = _CONFIG
    boxes: dict[str, Box]


class SegmentationImageAnswer(BaseModel):
    """A SAM-style prompt: one box, 3 positive and 3 negative points."""

    model_config = _CONFIG
    boxes: Box
    positive_points: ThreePoints
    negative_points: ThreePoints


class SegmentationVideoAnswer(SegmentationImageAnswer):
    """The image prompt plus ``"time"``: the key frame in seconds, a JSON number."""

    time: JsonNum


class PolygonAnswer(BaseModel):
    """A region as a polygon, a quadrilateral or a rotated box (the first key present
    wins, in this order):

    * ``{"polygon": [[x, y], ...]}``: at least 3 vertices, not closed;
    * ``{"quad": [[x, y] x 4]}``: four corners;
    * ``{"rbox": [cx, cy, w, h, angle_deg]}``: a rotated box (see
      :func:`unireward.geometry.rbox_to_polygon`).
    """

    model_config = _CONFIG
    polygon: Annotated[list[Point], Field(min_length=3)] | None = None
    quad: tuple[Point, Point, Point, Point] | None = None
    rbox: tuple[Num, Num, Num, Num, Num] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> PolygonAnswer:
        if self.polygon is None and self.quad is None and self.rbox is None:
            raise ValueError("needs one of 'polygon', 'quad' or 'rbox'")
        return self


#: Task name -> TypeAdapter of its answer model (built once, at import).
ANSWER_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "temporal grounding": TypeAdapter(TemporalAnswer),
    "spatial grounding": TypeAdapter(SpatialAnswer),
    "spatial-temporal grounding": TypeAdapter(SpatioTemporalAnswer),
    "tracking": TypeAdapter(TrackingAnswer),
    "segmentation/image": TypeAdapter(SegmentationImageAnswer),
    "segmentation/video": TypeAdapter(SegmentationVideoAnswer),
    "polygon grounding": TypeAdapter(PolygonAnswer),
}


def schema_reason(task: str, value: Any, fallback: str = "answer does not fit the schema") -> str:
    """Why ``value`` does not fit the task's answer schema: the first pydantic error as
    ``"<field path>: <message>"`` (with ``(+n more)`` when there are others).

    Returns ``fallback`` when the model accepts the value (a check beyond the schema
    failed, e.g. a self-intersecting polygon).

    >>> schema_reason("temporal grounding", {"start": 1})
    'time: Field required'
    >>> schema_reason("segmentation/video", {"time": "3.0", "boxes": [1, 2, 3, 4],
    ...     "positive_points": [[0, 0]] * 3, "negative_points": [[0, 0]] * 3})
    'time: Value error, expected a JSON number (not a string or list), got "3.0"'
    """
    try:
        ANSWER_ADAPTERS[task].validate_python(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        first = errors[0]
        loc = ".".join(str(p) for p in first["loc"]) or "answer"
        text = f"{loc}: {first['msg']}"
        if len(errors) > 1:
            text += f" (+{len(errors) - 1} more)"
        return text[:300]
    return fallback


# --------------------------------------------------------------------------------------
# Ground truths (bad ones raise) and per-item issues of a batch (bad answers never raise)
# --------------------------------------------------------------------------------------


def truth_object(ground_truth: Any, task: str) -> dict[str, Any]:
    """A ground truth as a JSON object: a JSON string is parsed, a dict is used as is.

    >>> truth_object('{"time": [1, 2]}', "temporal grounding")
    {'time': [1, 2]}
    >>> truth_object("[1, 2]", "temporal grounding")
    Traceback (most recent call last):
    ...
    unireward.errors.GroundTruthError: temporal grounding ground truth must be a JSON object, got list
    """
    from .errors import GroundTruthError

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
    >>> truth_floats({"time": [1]}, "time", 2, "temporal grounding")
    Traceback (most recent call last):
    ...
    unireward.errors.GroundTruthError: temporal grounding ground truth: field 'time' must be a list of 2 finite numbers, got [1]
    """
    from .errors import GroundTruthError

    if key not in obj:
        raise GroundTruthError(f"{task} ground truth has no field {key!r}")
    v = as_floats(obj[key], n)
    if v is None or not all(map(math.isfinite, v)):
        raise GroundTruthError(
            f"{task} ground truth: field {key!r} must be a list of {n} finite numbers, "
            f"got {short_repr(obj[key])}"
        )
    return tuple(v)


def truth_points(obj: dict[str, Any], key: str, n: int, task: str) -> tuple[tuple[float, float], ...]:
    """Field ``key`` of a ground truth as ``n`` finite points (else GroundTruthError)."""
    from .errors import GroundTruthError

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
    from .errors import GroundTruthError

    boxes = obj.get("boxes")
    if not isinstance(boxes, dict) or not boxes:
        raise GroundTruthError(
            f"{task} ground truth: field 'boxes' must be a non-empty object of frame -> "
            f"[x1, y1, x2, y2], got {short_repr(boxes)}"
        )
    return {
        str(k): truth_floats({f"boxes[{k!r}]": v}, f"boxes[{k!r}]", 4, task) for k, v in boxes.items()
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


class Issues:
    """What went wrong per item of a batch: the most important status wins.

    >>> from unireward.result import Status
    >>> book = Issues()
    >>> book.flag(3, Status.NON_FINITE, "time is NaN")
    >>> book.flag(3, Status.SCHEMA_ERROR, "boxes: Field required")
    >>> book.flag(3, Status.NON_FINITE, "ignored")
    >>> book.get(3)
    (<Status.SCHEMA_ERROR: 'schema_error'>, 'boxes: Field required')
    """

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: dict[int, tuple[Any, str | None]] = {}

    def flag(self, index: int, status: Any, reason: str | None) -> None:
        from .result import RewardResult

        old = self.items.get(index)
        if old is None or RewardResult.most_important([old[0], status]) is not old[0]:
            self.items[index] = (status, reason)

    def get(self, index: int) -> tuple[Any, str | None] | None:
        return self.items.get(index)
