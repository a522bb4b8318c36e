"""Math: symbolic equivalence of gold and answer (Math-Verify's ``verify(parse(gold),
parse(answer))``), made hang-proof.

1. A cheap screen (:mod:`unireward._mathsafe.screen`) refuses inputs whose evaluation would
   explode (power towers, huge exponents or factorials, enormous or deeply nested input):
   accuracy 0, status ``parse_error``.
2. Plain numbers (integers, decimals, simple fractions) that are exactly equal are matched
   without any symbolic engine.
3. Everything else goes to a worker process that is killed at the hard deadline
   (``math_timeout``, 5 s by default): accuracy 0, status ``deadline``. This works from the
   main thread, worker threads and daemonic worker processes (no ``signal.alarm``).
4. If the verifier itself fails, the PRM800K string grader decides (as in the reference).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any

from .._mathsafe.prm800k import grade_answer
from .._mathsafe.screen import refusal
from .._mathsafe.worker import WorkerDeadline, default_pool
from ..errors import ScoringDeadlineError
from ..result import Status, TaskOutcome
from .base import ScoreOptions, TaskScorer

__all__ = ["MathScorer", "plain_number"]

_PLAIN = re.compile(r"-?(?:\d{1,300}(?:\.\d{0,300})?|\.\d{1,300})(?:/\d{1,300})?")


def plain_number(text: str) -> Fraction | None:
    """The exact value of a plain number (``12``, ``-0.5``, ``3/4``, ``$7$``), else None.

    >>> plain_number("$-1.50$"), plain_number("x+1")
    (Fraction(-3, 2), None)
    """
    s = text.strip()
    if s.startswith("$") and s.endswith("$"):
        s = s.strip("$").strip()
    if not _PLAIN.fullmatch(s):
        return None
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None


class MathScorer(TaskScorer):
    """Symbolic math equivalence with a hard per-item deadline (see the module docs)."""

    name = "math"

    def score(
        self, answer: str, truth: Any, *, data_type: str | None, options: ScoreOptions
    ) -> TaskOutcome:
        for text, who in ((answer, "answer"), (truth, "ground truth")):
            why = refusal(text)
            if why is not None:
                return TaskOutcome(0.0, 0.5, Status.PARSE_ERROR, f"{who} refused by the math screen: {why}")
        a, g = plain_number(answer), plain_number(truth)
        if a is not None and g is not None and a == g:
            return TaskOutcome(1.0, 0.5)
        try:
            out = default_pool().verify(truth, answer, options.math_timeout)
        except WorkerDeadline as exc:
            if options.raise_on_error:
                raise ScoringDeadlineError(f"math check: {exc}") from exc
            return TaskOutcome(0.0, 0.5, Status.DEADLINE, f"math check hit the {options.math_timeout:g} s deadline")
        if "error" in out:
            ok = grade_answer(answer, truth)
            return TaskOutcome(1.0 if ok else 0.0, 0.5, Status.OK, None)
        return TaskOutcome(1.0 if out["equal"] else 0.0, 0.5)

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        """Score a batch, keeping every worker of the pool busy."""
        if len(answers) <= 1:
            return super().score_many(answers, truths, data_types, options)
        size = default_pool().size
        with ThreadPoolExecutor(max_workers=size) as ex:
            futures = [
                ex.submit(self.score, a, t, data_type=d, options=options)
                for a, t, d in zip(answers, truths, data_types, strict=True)
            ]
            return [f.result() for f in futures]


SCORERS = (MathScorer,)
