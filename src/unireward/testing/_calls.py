"""Calling a reward function under test and recording what it did.

Every call becomes a :class:`Call`: the completion and ground truth it was given and what
came back (a reward, ``None``, something that is not a number, or an exception). The
invariants compare calls; the report prints them.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError

__all__ = ["Call", "RewardCaller"]


@dataclass(frozen=True)
class Call:
    """One call of the reward function.

    Attributes:
        completion: the completion it was given.
        truth: the ground truth it was given.
        value: the reward as a float, or None when it returned None or no number.
        error: ``"TypeName: message"`` when it raised.
        returned: a description of a return value that is not a reward (``None`` when it was one).
        result: the :class:`~unireward.RewardResult` when it returned one.
    """

    completion: str
    truth: Any
    value: float | None = None
    error: str | None = None
    returned: str | None = None
    result: Any = None

    @property
    def raised(self) -> bool:
        return self.error is not None

    @property
    def number(self) -> bool:
        """True when the call gave a reward (a float, possibly not finite)."""
        return self.error is None and self.value is not None

    def observed(self) -> str:
        """What came back, for the report."""
        if self.error is not None:
            return f"raised {self.error}"
        if self.returned is not None:
            return self.returned
        return "None" if self.value is None else repr(self.value)

    def phrase(self) -> str:
        """What came back, as a verb phrase: ``scored 1.5``, ``raised ValueError: ...``."""
        if self.error is not None or self.returned is not None:
            return self.observed()
        return "returned None" if self.value is None else f"scored {self.value!r}"

    def same_as(self, other: Call, tol: float) -> bool:
        """Both calls gave the same reward (within ``tol``), or raised the same way."""
        if self.number and other.number:
            a, b = self.value, other.value
            assert a is not None and b is not None
            if math.isnan(a) or math.isnan(b):
                return math.isnan(a) and math.isnan(b)
            return a == b or abs(a - b) <= tol
        return self.observed() == other.observed()


def _signature_of(fn: Callable[..., Any], signature: str) -> str:
    if signature == "auto":
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        signature = "trl" if "completions" in params else "score"
    if signature not in ("trl", "score"):
        raise ConfigurationError(f"signature must be 'auto', 'trl' or 'score', got {signature!r}")
    return signature


def _describe(value: Any) -> str:
    text = repr(value)
    return f"returned {text[:80]} ({type(value).__name__}), not a number"


class RewardCaller:
    """Calls a reward function with either signature and records a :class:`Call`.

    ``signature="score"``: ``fn(completion, ground_truth, task, data_type=...)`` returning a
    number or a :class:`~unireward.RewardResult`. ``signature="trl"``:
    ``fn(prompts=, completions=, solution=, problem_type=, data_type=)`` returning a list
    with one reward (or None) per completion. ``"auto"`` picks ``trl`` when the function
    has a ``completions`` parameter.
    """

    def __init__(
        self, fn: Callable[..., Any], task: str, data_type: str | None, signature: str = "auto"
    ) -> None:
        if not callable(fn):
            raise ConfigurationError(
                f"the reward function must be callable, got {type(fn).__name__}"
            )
        self.fn = fn
        self.task = task
        self.data_type = data_type
        self.signature = _signature_of(fn, signature)

    def __call__(self, completion: str, truth: Any) -> Call:
        try:
            out = self._invoke(completion, truth)
        except Exception as exc:
            return Call(completion, truth, error=f"{type(exc).__name__}: {exc}"[:300])
        if self.signature == "trl":
            if not isinstance(out, (list, tuple)) or len(out) != 1:
                return Call(
                    completion,
                    truth,
                    returned=_describe(out).replace("not a number", "not a list of 1 reward"),
                )
            out = out[0]
            if out is None:
                return Call(completion, truth)
        result = out if hasattr(out, "structure") and hasattr(out, "total") else None
        if out is None:
            return Call(
                completion, truth, returned="returned None (only TRL's signature may return None)"
            )
        if isinstance(out, str):
            return Call(completion, truth, returned=_describe(out))
        try:
            value = float(out)
        except (TypeError, ValueError, OverflowError):
            return Call(completion, truth, returned=_describe(out))
        return Call(completion, truth, value=value, result=result)

    def _invoke(self, completion: str, truth: Any) -> Any:
        if self.signature == "trl":
            return self.fn(
                prompts=[""],
                completions=[completion],
                solution=[truth],
                problem_type=[self.task],
                data_type=[self.data_type],
            )
        return self.fn(completion, truth, self.task, data_type=self.data_type)
