"""The interface every task scorer implements.

A scorer turns one extracted answer (the text inside ``<answer>...</answer>``, already
tag-normalised) and one prepared ground truth into a :class:`~unireward.result.TaskOutcome`
(accuracy, structure reward before the format gate, status). The composition with the format
reward happens once, in :mod:`unireward.api`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ConfigurationError
from ..result import Status, TaskOutcome

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["PROFILES", "BatchScorer", "Columns", "ItemScorer", "ScoreOptions", "TaskScorer"]

#: What the deprecated :meth:`TaskScorer.score_columns` returns: the accuracy and structure
#: of every item, and the full outcome of each item that has more to say than its two
#: numbers (a status other than ``ok``, a reason or details), by position in the batch.
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

    >>> ScoreOptions(profile="lenient")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    unireward.errors.ConfigurationError: profile must be one of ('onethinker', ...), got 'lenient'
    >>> ScoreOptions(math_timeout=float("inf"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    unireward.errors.ConfigurationError: math_timeout must be a finite number of ... got inf
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
    """Base class of task scorers: a task is one subclass.

    Subclasses set :attr:`name` (lower-case) and optionally :attr:`aliases`, and implement
    one method, :meth:`score_many`, which scores a batch; :meth:`score` scores a batch of
    one, so the single-item and batch paths cannot drift apart. :attr:`structured`
    (``True``: the structure reward depends on the answer's shape) also chooses the
    structure reward of a row whose ground truth was refused when the task has no
    :meth:`stand_in_truth`: 0 for a structured task, 0.5 otherwise.

    What else the library asks about a task is read from the class as well: the answer
    model (:attr:`answer_model`, :meth:`answer_model_for`), the ground-truth preparation
    (:meth:`prepare_ground_truth`), the EMA-GRPO key (:meth:`ema_key`), the property-test
    spec (:attr:`check_spec`), the report family (:attr:`report_family`) and whether a
    reward model scores it (:attr:`uses_reward_model`). See docs/api.md for a worked task.

    A subclass written for earlier releases that implements only :meth:`score` keeps
    working: its :meth:`score_many` calls it per item (with a DeprecationWarning when the
    class is defined).
    """

    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    structured: ClassVar[bool] = False
    #: the pydantic model of a well-formed answer (structured tasks; see
    #: :meth:`answer_model_for`), which writes the reason of a schema error
    answer_model: ClassVar[type[BaseModel] | None] = None
    #: data types with an answer model of their own (see :meth:`answer_model_for`)
    answer_data_types: ClassVar[tuple[str, ...]] = ()
    #: the property-test spec :func:`unireward.testing.check_reward` draws answers with: a
    #: :class:`~unireward.testing._tasks.TaskSpec` subclass, or its ``"module:Class"`` path
    #: (imported on demand, so that hypothesis stays optional); None: no property tests
    check_spec: ClassVar[Any] = None
    #: the benchmark family of the task in reports (a key of
    #: :data:`unireward.report.FAMILIES`: its metrics and panels), or None
    report_family: ClassVar[str | None] = None
    #: whether :func:`unireward.score_batch` hands the answers to a reward model when
    #: one is given (open-ended answers)
    uses_reward_model: ClassVar[bool] = False

    def answer_model_for(self, data_type: str | None) -> type[BaseModel] | None:
        """The answer model of one data type (the default: :attr:`answer_model`)."""
        return self.answer_model

    def ema_key(self, task: str, data_type: str | None, *, strict: bool) -> str:
        """The EMA-GRPO key of a sample of this task (see
        :func:`unireward.advantage.task_keys`): ``task`` as written (the default), or a
        finer key (segmentation splits by data type). ``strict``: the ``strict`` profile."""
        return task

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

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        """Score a batch: one :class:`~unireward.result.TaskOutcome` per answer, in order.

        ``answers`` are the extracted answers, ``truths`` the prepared ground truths (see
        :meth:`prepare_ground_truth`). The one method a scorer implements."""
        raise NotImplementedError(f"{type(self).__name__} does not implement score_many")

    def score(
        self, answer: str, truth: Any, *, data_type: str | None, options: ScoreOptions
    ) -> TaskOutcome:
        """Score one answer: :meth:`score_many` on a batch of one."""
        return self.score_many([answer], [truth], [data_type], options)[0]

    def score_columns(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> Columns:
        """Deprecated: :meth:`score_many` as columns (the accuracies, the structure rewards
        and the outcomes of the items that are not plainly ``ok``)."""
        warnings.warn(
            "TaskScorer.score_columns is deprecated; use score_many",
            DeprecationWarning,
            stacklevel=2,
        )
        outs = self.score_many(answers, truths, data_types, options)
        special = {
            i: o
            for i, o in enumerate(outs)
            if o.status is not _OK or o.reason is not None or o.details is not None
        }
        return [o.accuracy for o in outs], [o.structure for o in outs], special

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "score" in cls.__dict__ and cls.score_many is TaskScorer.score_many:
            warnings.warn(
                f"{cls.__qualname__} implements only TaskScorer.score: implement score_many "
                "(a batch) instead; score is now a batch of one",
                DeprecationWarning,
                stacklevel=2,
            )
            cls.score_many = _score_items  # type: ignore[method-assign]


def _score_items(
    self: TaskScorer,
    answers: Sequence[str],
    truths: Sequence[Any],
    data_types: Sequence[str | None],
    options: ScoreOptions,
) -> list[TaskOutcome]:
    """The batch method of a scorer that implements only :meth:`TaskScorer.score`."""
    return [
        self.score(a, t, data_type=d, options=options)
        for a, t, d in zip(answers, truths, data_types, strict=True)
    ]


class BatchScorer(TaskScorer):
    """Kept for compatibility: every :class:`TaskScorer` is a batch scorer now (implement
    :meth:`~TaskScorer.score_many`)."""


class ItemScorer(TaskScorer):
    """A scorer whose items share no work (choice, OCR, ROUGE): implement :meth:`grade`
    for one answer; :meth:`~TaskScorer.score_many` grades a batch item by item."""

    def grade(self, answer: str, truth: Any) -> TaskOutcome:
        """The outcome of one extracted answer against one prepared ground truth."""
        raise NotImplementedError(f"{type(self).__name__} does not implement grade")

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        grade = self.grade
        return [grade(a, t) for a, t in zip(answers, truths, strict=True)]
