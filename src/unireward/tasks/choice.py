"""Multiple choice: the PRM800K answer grader (``c``, ``(C)``, ``[C]``, ``\\text{C}``,
``$\\boxed{C}$`` match ``C``; ``C.``, ``Option C``, ``C, D`` do not)."""

from __future__ import annotations

from typing import Any

from .._mathsafe.prm800k import grade_answer
from ..result import TaskOutcome
from .base import ItemScorer

__all__ = ["MultipleChoiceScorer"]


class MultipleChoiceScorer(ItemScorer):
    """Accuracy 1 when the PRM800K grader accepts the answer against the gold option.

    >>> from unireward import ScoreOptions
    >>> s = MultipleChoiceScorer()
    >>> [s.score(a, "C", data_type=None, options=ScoreOptions()).accuracy for a in ["(c)", "C."]]
    [1.0, 0.0]
    """

    name = "multiple choice"
    aliases = ("multiple-choice", "mcq", "choice")
    check_spec = "unireward.testing._tasks:ChoiceSpec"

    def grade(self, answer: str, truth: Any) -> TaskOutcome:
        return TaskOutcome(1.0 if grade_answer(answer, truth) else 0.0, 0.5)


SCORERS = (MultipleChoiceScorer,)
