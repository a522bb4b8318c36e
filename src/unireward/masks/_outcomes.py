"""How the mask scorers build their outcomes, and how an outcome travels as JSON.

One place for what :mod:`~unireward.masks.reward`, :mod:`~unireward.masks.client` and
:mod:`~unireward.masks.service` all do: a failure as an outcome with a bounded reason, the
point-kernel outcome turned into a fallback or given the mask accuracy, per-item slots filled
out of order, and the ``/segmentation`` wire format of one outcome (written by the service,
read and checked by the client).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import RemoteProtocolError
from ..remote._base import RequestInfo
from ..result import Status, TaskOutcome

__all__ = [
    "MAX_REASON",
    "complete",
    "error_outcome",
    "failure_reason",
    "fallback_outcome",
    "outcome_from_json",
    "outcome_to_json",
]

MAX_REASON = 500
"""The longest reason an outcome carries (an exception's text can be long)."""

_STATUSES = {s.value: s for s in Status}


def failure_reason(exc: BaseException, template: str = "{}") -> str:
    """``template`` filled with ``"<ExceptionType>: <message>"``, cut to :data:`MAX_REASON`.

    >>> failure_reason(ValueError("bad"), "service failed ({}); points used")
    'service failed (ValueError: bad); points used'
    """
    return template.format(f"{type(exc).__name__}: {exc}")[:MAX_REASON]


def error_outcome(exc: BaseException) -> TaskOutcome:
    """The outcome of an item that could not be scored because of ``exc``: 0, ``error``."""
    return TaskOutcome(0.0, 0.0, Status.ERROR, failure_reason(exc))


def fallback_outcome(base: TaskOutcome | None, reason: str) -> TaskOutcome:
    """``base`` (the point-kernel outcome; ``None`` when there is none, which scores 0) with
    status ``fallback`` and ``reason``."""
    if base is None:
        return TaskOutcome(0.0, 0.0, Status.FALLBACK, reason)
    return base._replace(status=Status.FALLBACK, reason=reason)


def complete(slots: Sequence[TaskOutcome | None]) -> list[TaskOutcome]:
    """The outcomes of items scored out of order, once every slot is filled."""
    missing = [i for i, o in enumerate(slots) if o is None]
    if missing:  # a bug here, never the input's fault
        raise AssertionError(f"no outcome for items {missing[:10]}")
    return list(slots)  # type: ignore[arg-type]


def outcome_to_json(o: TaskOutcome) -> dict[str, Any]:
    """One outcome as the ``/segmentation`` endpoint sends it."""
    return {"accuracy": float(o.accuracy), "structure": float(o.structure),
            "status": o.status.value, "reason": o.reason, "details": o.details}


def _finite(row: Mapping[str, Any], label: str, where: str, info: RequestInfo) -> float:
    v = row.get(label)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise RemoteProtocolError(f"{where}: {label} must be a finite number, got {v!r}",
                                  request=info)
    return float(v)


def outcome_from_json(row: Any, i: int, info: RequestInfo) -> TaskOutcome:
    """Outcome ``i`` of a ``/segmentation`` answer, checked.

    Raises:
        unireward.errors.RemoteProtocolError: not an object, a non-finite number, an unknown
            status, or a reason or details of the wrong type.
    """
    where = f"outcome {i}"
    if not isinstance(row, dict):
        raise RemoteProtocolError(f"{where} is not an object", request=info)
    accuracy = _finite(row, "accuracy", where, info)
    structure = _finite(row, "structure", where, info)
    status = row.get("status")
    status_value = _STATUSES.get(status) if isinstance(status, str) else None
    reason, details = row.get("reason"), row.get("details")
    if status_value is None or not (reason is None or isinstance(reason, str)) or not (
            details is None or isinstance(details, dict)):
        raise RemoteProtocolError(f"{where}: bad status, reason or details", request=info)
    return TaskOutcome(accuracy, structure, status_value, reason, details)
