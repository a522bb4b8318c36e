"""The pydantic answer models of the structured tasks (the documented schemas, which also
write the reason text when an answer does not fit). Each scorer names its own model's
adapter as :attr:`~unireward.tasks.base.TaskScorer.answer_schema`."""

from __future__ import annotations

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

from ._json import short_repr
from ._numbers import as_number

__all__ = [
    "PolygonAnswer",
    "SegmentationImageAnswer",
    "SegmentationVideoAnswer",
    "SpatialAnswer",
    "SpatioTemporalAnswer",
    "TemporalAnswer",
    "TrackingAnswer",
    "adapter_of",
    "validation_reason",
]


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


_ADAPTERS: dict[type[BaseModel], TypeAdapter[Any]] = {}


def adapter_of(model: type[BaseModel]) -> TypeAdapter[Any]:
    """The :class:`~pydantic.TypeAdapter` of an answer model (built once per model)."""
    found = _ADAPTERS.get(model)
    if found is None:
        found = _ADAPTERS[model] = TypeAdapter(model)
    return found


def validation_reason(
    model: type[BaseModel] | None, value: Any, fallback: str = "answer does not fit the schema"
) -> str:
    """Why ``value`` does not fit ``model``: the first pydantic error as
    ``"<field path>: <message>"`` (with ``(+n more)`` when there are others).

    Returns ``fallback`` when the model accepts the value (a check beyond the schema
    failed, e.g. a self-intersecting polygon).

    >>> validation_reason(TemporalAnswer, {"start": 1})
    'time: Field required'
    """
    if model is None:  # a task without an answer model
        return fallback
    try:
        adapter_of(model).validate_python(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        first = errors[0]
        loc = ".".join(str(p) for p in first["loc"]) or "answer"
        text = f"{loc}: {first['msg']}"
        if len(errors) > 1:
            text += f" (+{len(errors) - 1} more)"
        return text[:300]
    return fallback
