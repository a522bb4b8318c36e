"""The result of scoring one completion."""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

__all__ = ["RewardResult", "Status", "TaskOutcome"]


class Status(str, enum.Enum):
    """Why a result looks the way it does. ``OK`` means nothing went wrong.

    The statuses below are listed from the most to the least important; a result carries the
    most important one in :attr:`RewardResult.status` and every one that applied in
    :attr:`RewardResult.issues`.
    """

    ERROR = "error"  #: an unexpected failure: every component is 0
    #: the ground truth cannot be used: accuracy 0, format and structure as the reference
    #: gives them (see :meth:`~unireward.tasks.base.TaskScorer.stand_in_truth`)
    GROUND_TRUTH_ERROR = "ground_truth_error"
    DEADLINE = "deadline"  #: the per-item deadline was hit (math): accuracy 0
    FALLBACK = "fallback"  #: the reward model failed and a rule-based score was used instead
    MALFORMED_JSON = "malformed_json"  #: a structured answer is not strict JSON
    SCHEMA_ERROR = "schema_error"  #: the JSON does not have the task's structure
    PARSE_ERROR = "parse_error"  #: the answer cannot be parsed (e.g. not a number)
    NON_FINITE = "non_finite"  #: a NaN or infinite value made a component 0
    NO_TAGS = "no_tags"  #: no <answer>...</answer>: the whole completion was graded
    FORMAT_ERROR = "format_error"  #: the completion fails the think/answer format (F = 0)
    OK = "ok"

    def __str__(self) -> str:
        return self.value


_PRIORITY = {s: i for i, s in enumerate(Status)}


class TaskOutcome(NamedTuple):
    """What a task scorer returns for one answer: accuracy, structure and what went wrong.

    ``structure`` is the structure reward before the format gate (the composer forces it to
    0 when the format reward is 0).
    """

    accuracy: float
    structure: float
    status: Status = Status.OK
    reason: str | None = None
    details: dict[str, Any] | None = None


class RewardResult(NamedTuple):
    """The reward of one completion with its components (an immutable record).

    ``total = (1 - w) * accuracy + w * format + structure`` where ``w`` is the format weight
    (0.1 by default) and ``structure`` is already 0 when ``format`` is 0.

    >>> r = RewardResult(total=1.5, accuracy=1.0, format=1.0, structure=0.5, task="multiple choice")
    >>> float(r), r.ok
    (1.5, True)
    """

    total: float
    accuracy: float
    format: float
    structure: float
    task: str = ""
    status: Status = Status.OK
    reason: str | None = None
    issues: tuple[Status, ...] = ()
    answer: str | None = None
    details: dict[str, Any] | None = None

    def __float__(self) -> float:
        return self.total

    @property
    def ok(self) -> bool:
        """True when nothing went wrong (``status == "ok"``)."""
        return self.status is Status.OK

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (the fields written by the CLI).

        >>> RewardResult(total=0.1, accuracy=0.0, format=1.0, structure=0.0,
        ...              status=Status.MALFORMED_JSON, reason="bad").to_dict()["status"]
        'malformed_json'
        """
        return {
            "reward": self.total,
            "accuracy": self.accuracy,
            "format": self.format,
            "structure": self.structure,
            "status": self.status.value,
            "reason": self.reason,
        }

    @staticmethod
    def most_important(statuses: list[Status] | tuple[Status, ...]) -> Status:
        """The status that a result with these issues reports."""
        if not statuses:
            return Status.OK
        return min(statuses, key=_PRIORITY.__getitem__)
