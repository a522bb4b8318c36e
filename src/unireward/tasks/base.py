"""The interface every task scorer implements.

A scorer turns one extracted answer (the text inside ``<answer>...</answer>``, already
tag-normalised) and one prepared ground truth into a :class:`~unireward.result.TaskOutcome`
(accuracy, structure reward before the format gate, status). The composition with the format
reward happens once, in :mod:`unireward.api`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import ConfigurationError
from ..result import Status, TaskOutcome

__all__ = ["PROFILES", "BatchScorer", "Columns", "ScoreOptions", "TaskScorer"]

#: What :meth:`TaskScorer.score_columns` returns: the accuracy and structure of every item,
#: and the full outcome of each item that has more to say than its two numbers (a status
#: other than ``ok``, a reason or details), by position in the batch.
Columns = tuple[Sequence[float], Sequence[float], Mapping[int, TaskOutcome]]
_OK = Status.OK

#: ``onethinker`` reproduces the reference rewards bit for bit (quirks included);
#: ``strict`` fixes the documented quirks (see docs/tasks.md).
PROFILES = ("onethinker", "strict")
#: Largest accepted ``math_timeout`` (seconds per step of a math check).
MAX_MATH_TIMEOUT = 3600.0


@dataclass(frozen=True, slots=True)
class ScoreOptions:
    """Options shared by every scorer.

    Attributes:
        profile: ``"onethinker"`` (default, bit-for-bit with the reference) or ``"strict"``.
        format_weight: the weight ``w`` of the format reward in the total.
        math_timeout: hard deadline in seconds for each step of a symbolic math check
            (parsing the ground truth, parsing the answer, verifying), as the reference
            gives each of those calls 5 s; finite, in (0, 3600].
        raise_on_error: re-raise unexpected scoring errors instead of recording them.
        extra: task-specific options (``{"name": value}``) for user-registered scorers.

    >>> ScoreOptions(profile="lenient")
    Traceback (most recent call last):
    ...
    unireward.errors.ConfigurationError: profile must be one of ('onethinker', 'strict'), got 'lenient'
    >>> ScoreOptions(math_timeout=float("inf"))
    Traceback (most recent call last):
    ...
    unireward.errors.ConfigurationError: math_timeout must be a finite number of seconds in (0, 3600], got inf
    """

    profile: str = "onethinker"
    format_weight: float = 0.1
    math_timeout: float = 5.0
    raise_on_error: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ConfigurationError(f"profile must be one of {PROFILES}, got {self.profile!r}")
        if not (0.0 <= float(self.format_weight) <= 1.0):
            raise ConfigurationError(f"format_weight must be in [0, 1], got {self.format_weight!r}")
        try:
            timeout = math.nan if isinstance(self.math_timeout, bool) else float(self.math_timeout)
        except (TypeError, ValueError):
            timeout = math.nan
        if not (0.0 < timeout <= MAX_MATH_TIMEOUT):  # also refuses nan and inf
            raise ConfigurationError(
                f"math_timeout must be a finite number of seconds in (0, {MAX_MATH_TIMEOUT:g}],"
                f" got {self.math_timeout!r}"
            )

    @property
    def strict(self) -> bool:
        return self.profile == "strict"


class TaskScorer:
    """Base class of task scorers.

    Subclasses set :attr:`name` (lower-case), optionally :attr:`aliases`, and
    :attr:`structured` (``False``: the structure reward is 0.5 whenever the format holds),
    and implement :meth:`score`. Structured scorers override :meth:`score_many` to
    vectorise a batch.
    """

    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    structured: ClassVar[bool] = False

    def prepare_ground_truth(self, ground_truth: Any, data_type: str | None) -> Any:
        """Check and convert one ground truth (a string already unwrapped of ``<answer>``
        tags, or a parsed dict/list). Raise :class:`~unireward.errors.GroundTruthError`
        naming the problem when it cannot be used. The default requires a string."""
        from ..errors import GroundTruthError

        if isinstance(ground_truth, str):
            return ground_truth
        if isinstance(ground_truth, (int, float)) and not isinstance(ground_truth, bool):
            return str(ground_truth)
        raise GroundTruthError(
            f"task {self.name!r} needs a string ground truth, got {type(ground_truth).__name__}"
        )

    def stand_in_truth(self, ground_truth: Any, data_type: str | None) -> Any:
        """A prepared truth to score an answer's *structure* against when ``ground_truth``
        (the unwrapped original) was refused by :meth:`prepare_ground_truth`.

        The reference scores a row with an unusable truth: accuracy 0, format and structure
        as usual. Structure depends on the answer alone, except the frame-key overlap of
        tracking and spatial-temporal grounding, which uses the truth's frame keys where
        they can be read. The accuracy obtained against the stand-in is discarded.
        ``None`` (the default) means the structure does not depend on a truth: 0.5 for a
        non-structured task, 0 for a structured one.
        """
        return None

    def score(
        self, answer: str, truth: Any, *, data_type: str | None, options: ScoreOptions
    ) -> TaskOutcome:
        raise NotImplementedError

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        """Score a batch; the default calls :meth:`score` per item."""
        return [
            self.score(a, t, data_type=d, options=options)
            for a, t, d in zip(answers, truths, data_types, strict=True)
        ]

    def score_columns(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> Columns:
        """A batch as columns (what :func:`unireward.score_batch` consumes): the accuracies,
        the structure rewards and the outcomes of the items that are not plainly ``ok``.

        The default derives them from :meth:`score_many`; the temporal and spatial grounding
        scorers produce them directly, without an outcome object per item.
        """
        outs = self.score_many(answers, truths, data_types, options)
        special = {
            i: o
            for i, o in enumerate(outs)
            if o.status is not _OK or o.reason is not None or o.details is not None
        }
        return [o.accuracy for o in outs], [o.structure for o in outs], special


class BatchScorer(TaskScorer):
    """A scorer written for batches: implement :meth:`score_many`; :meth:`score` scores a
    batch of one, so the single-item and batch paths cannot drift apart."""

    def score(
        self, answer: str, truth: Any, *, data_type: str | None, options: ScoreOptions
    ) -> TaskOutcome:
        return self.score_many([answer], [truth], [data_type], options)[0]

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        raise NotImplementedError
