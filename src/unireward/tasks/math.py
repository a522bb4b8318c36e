"""Math: symbolic equivalence of gold and answer (Math-Verify's ``verify(parse(gold),
parse(answer))``), made hang-proof.

Each pair goes through four steps, stopping at the first that decides:

1. **Screen** (:func:`unireward._mathsafe.screen.refusal`, linear time): inputs whose
   evaluation would explode (power towers, huge exponents or factorials, more than 10,000
   characters, brackets nested deeper than 40) are not handed to the symbolic engine:
   accuracy 0, status ``parse_error``, the reason says what was refused.
2. **Fast path** (:func:`unireward._mathsafe.fastpath.fast_verdict`): integers, decimals,
   fractions, ``N\\%``, bare letters and simple intervals are compared exactly, giving
   Math-Verify's verdict without any symbolic work (pairs whose verdict would depend on
   Math-Verify's 6-digit rounding go on to step 3).
3. **Worker process**: Math-Verify (its own alarm-signal timeouts off) runs in a
   worker process that is killed and replaced at the hard deadline
   (``options.math_timeout``, 5 s by default): accuracy 0, status ``deadline`` (with
   ``raise_on_error=True``, :class:`~unireward.errors.ScoringDeadlineError`). This works
   from the main thread, from worker threads and from daemonic worker processes.
4. **Fallback**: if the verifier itself fails (an exception, or the worker died), the
   PRM800K string grader decides, as in the reference.

If no worker process can be started at all (process creation forbidden), Math-Verify runs
in the calling process behind the screen, without a hard deadline; the reason says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .._mathsafe.fastpath import fast_verdict
from .._mathsafe.prm800k import grade_answer
from .._mathsafe.screen import refusal
from .._mathsafe.worker import WorkerDeadline, WorkerUnavailable, default_pool, verify_inline
from ..errors import ScoringDeadlineError
from ..result import Status, TaskOutcome
from .base import ScoreOptions, TaskScorer

__all__ = ["MathScorer"]

_STRUCTURE = 0.5


def _quick(answer: str, truth: str) -> TaskOutcome | None:
    """Steps 1 and 2: an outcome without symbolic work, or None."""
    for text, who in ((answer, "answer"), (truth, "ground truth")):
        why = refusal(text)
        if why is not None:
            return TaskOutcome(
                0.0, _STRUCTURE, Status.PARSE_ERROR, f"{who} refused by the math screen: {why}"
            )
    verdict = fast_verdict(truth, answer)
    if verdict is None:
        return None
    return TaskOutcome(1.0 if verdict else 0.0, _STRUCTURE)


def _from_verifier(out: dict[str, Any], answer: str, truth: str, note: str | None) -> TaskOutcome:
    if "error" in out:
        ok = grade_answer(answer, truth)
        reason = f"verifier failed ({out['error']}); PRM800K string grader used"
        return TaskOutcome(1.0 if ok else 0.0, _STRUCTURE, Status.OK, reason)
    return TaskOutcome(1.0 if out.get("equal") else 0.0, _STRUCTURE, Status.OK, note)


class MathScorer(TaskScorer):
    """Symbolic math equivalence with a hard per-item deadline (see the module docs).

    >>> s, o = MathScorer(), ScoreOptions()
    >>> s.score("$$-\\\\dfrac{3}{2}$$", "-1.5", data_type=None, options=o).accuracy
    1.0
    >>> r = s.score("\\\\boxed{9^{9^{9^{9}}}}", "3", data_type=None, options=o)
    >>> r.accuracy, r.status.value, r.reason
    (0.0, 'parse_error', 'answer refused by the math screen: power tower (three levels)')
    """

    name = "math"
    structured = False

    def score(
        self, answer: str, truth: Any, *, data_type: str | None, options: ScoreOptions
    ) -> TaskOutcome:
        quick = _quick(answer, truth)
        if quick is not None:
            return quick
        return self._symbolic(answer, truth, options)

    def _symbolic(self, answer: str, truth: str, options: ScoreOptions) -> TaskOutcome:
        timeout = float(options.math_timeout)
        try:
            out = default_pool().verify(truth, answer, timeout)
        except WorkerDeadline as exc:
            if options.raise_on_error:
                raise ScoringDeadlineError(f"math check hit the {timeout:g} s deadline") from exc
            return TaskOutcome(
                0.0, _STRUCTURE, Status.DEADLINE, f"math check hit the {timeout:g} s deadline"
            )
        except WorkerUnavailable as exc:
            note = f"{exc}; verified in-process behind the screen (no hard deadline)"
            return _from_verifier(verify_inline(truth, answer), answer, truth, note)
        return _from_verifier(out, answer, truth, None)

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        """Score a batch: screen and fast path inline, the rest across the worker pool."""
        if len(answers) != len(truths) or len(answers) != len(data_types):
            raise ValueError("answers, truths and data_types must have the same length")
        results: list[TaskOutcome | None] = [_quick(a, t) for a, t in zip(answers, truths, strict=True)]
        todo = [i for i, r in enumerate(results) if r is None]
        if len(todo) == 1:
            i = todo[0]
            results[i] = self._symbolic(answers[i], truths[i], options)
        elif todo:
            size = default_pool().size
            with ThreadPoolExecutor(max_workers=min(size, len(todo))) as ex:
                futures = {i: ex.submit(self._symbolic, answers[i], truths[i], options) for i in todo}
                for i, fut in futures.items():
                    results[i] = fut.result()
        return [r for r in results if r is not None]


SCORERS = (MathScorer,)
