"""Answer schemas of the structured tasks, and the helpers scorers share to read answers
and ground truths, one module per concern:

* :mod:`._numbers`: number coercion as the reference reads numbers;
* :mod:`._json`: strict JSON decoding and short renderings;
* :mod:`.answers`: the pydantic answer models (each scorer names its own as
  :attr:`~unireward.tasks.base.TaskScorer.answer_model`);
* :mod:`.truths`: ground-truth validators (a bad truth raises);
* :mod:`._issues`: per-item issue bookkeeping of a batch (bad answers never raise).

Each structured task has two views of its answer schema that agree on what is valid: the
pydantic model (frozen, extra keys ignored, numbers accepted as JSON numbers, booleans or
numeric strings, exactly as Python's ``float()`` reads them), which is the documented
schema and writes the reason text when an answer does not fit; and small hand-written
checkers (:func:`as_floats`, :func:`as_points`, :func:`as_frame_boxes`) that the scorers use
on the hot path, about ten times cheaper than a model validation. The tests check that
both views accept and reject the same answers.

>>> ANSWER_ADAPTERS["temporal grounding"].validate_python({"time": ["1.5", 3]}).time
(1.5, 3.0)
>>> schema_reason("spatial grounding", {"boxes": [[1, 2, 3, 4]]})
'boxes.0: Value error, expected a number, got [1, 2, 3, 4] (+3 more)'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter

from ._issues import Issues
from ._json import decode_json, load_json, short_repr
from ._numbers import as_floats, as_frame_boxes, as_number, as_points
from .answers import (
    PolygonAnswer,
    SegmentationImageAnswer,
    SegmentationVideoAnswer,
    SpatialAnswer,
    SpatioTemporalAnswer,
    TemporalAnswer,
    TrackingAnswer,
    adapter_of,
    validation_reason,
)
from .truths import stand_in_frames, truth_floats, truth_frames, truth_object, truth_points

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
    "adapter_of",
    "as_floats",
    "as_frame_boxes",
    "as_number",
    "as_points",
    "decode_json",
    "load_json",
    "schema_reason",
    "short_repr",
    "stand_in_frames",
    "truth_floats",
    "truth_frames",
    "truth_object",
    "truth_points",
    "validation_reason",
]


def _model_of(key: str) -> type[BaseModel] | None:
    """The answer model of ``"task"`` or ``"task/data type"`` (the scorer's own), or None."""
    from ..errors import UnknownTaskError
    from ..registry import get_scorer

    task, _, data_type = key.partition("/")
    try:
        scorer = get_scorer(task)
    except UnknownTaskError:
        return None
    return scorer.answer_model_for(data_type or None)


class _AdaptersByTask(Mapping[str, TypeAdapter[Any]]):
    """Task name (``"task/data type"`` where the schema depends on it) -> the adapter of
    the answer model the task's scorer declares. Kept for code that looks schemas up by
    name; each scorer carries its own (:meth:`TaskScorer.answer_model_for`)."""

    def __getitem__(self, key: str) -> TypeAdapter[Any]:
        model = _model_of(key) if isinstance(key, str) else None
        if model is None:
            raise KeyError(key)
        return adapter_of(model)

    def _keys(self) -> list[str]:
        from ..registry import get_scorer, registered_tasks

        out = []
        for name in registered_tasks():
            scorer = get_scorer(name)
            kinds = scorer.answer_data_types
            out.extend([f"{name}/{k}" for k in kinds] if kinds else [name])
        return [k for k in out if _model_of(k) is not None]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())


#: Task name -> TypeAdapter of its answer model, read from the task's scorer.
ANSWER_ADAPTERS: Mapping[str, TypeAdapter[Any]] = _AdaptersByTask()


def schema_reason(
    task: str | type[BaseModel], value: Any, fallback: str = "answer does not fit the schema"
) -> str:
    """Why ``value`` does not fit an answer schema: the task's (by name, ``"task/data
    type"`` where it depends on the data type) or a model's; see :func:`validation_reason`.

    >>> schema_reason("temporal grounding", {"start": 1})
    'time: Field required'
    >>> schema_reason("segmentation/video", {"time": "3.0", "boxes": [1, 2, 3, 4],
    ...     "positive_points": [[0, 0]] * 3, "negative_points": [[0, 0]] * 3})
    'time: Value error, expected a JSON number (not a string or list), got "3.0"'
    """
    model = _model_of(task) if isinstance(task, str) else task
    if model is None:
        raise KeyError(task)
    return validation_reason(model, value, fallback)
