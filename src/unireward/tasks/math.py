"""Math: symbolic equivalence of gold and answer (Math-Verify's ``verify(parse(gold),
parse(answer))``), made fast and hang-proof.

A batch goes through these steps, each pair stopping at the first that decides:

1. **Memo**: a pair already decided in this batch (the same ground truth and the same
   answer text, or an answer with the same exact value, see step 2) takes that verdict.
   Rollouts repeat answers, so in GRPO batches many pairs end here.
2. **Native** (:mod:`unireward._mathsafe.native`): each ground truth is read once per
   batch; numbers, fractions, percents, intervals, sets, exact expressions (variables,
   ``\\pi``, square roots, powers) and assignments are compared exactly with
   Math-Verify's rules; what the native reader cannot decide for sure goes on.
3. **Worker processes** run Math-Verify (its alarm-signal timeouts off). Pairs are
   grouped by ground truth, so each worker parses a ground truth once for all its
   rollouts. Each step (parsing the ground truth, parsing the answer, verifying) has its
   own deadline (``options.math_timeout``, 5 s by default, as the reference gives each
   call 5 s); a worker that misses one is killed and replaced: accuracy 0, status
   ``deadline`` (with ``raise_on_error=True``, :class:`~unireward.errors.ScoringDeadlineError`).
   Inside the worker, the **screen** (:func:`unireward._mathsafe.screen.refusal`) checks
   every expression that Math-Verify's extraction keeps before it reaches sympy (power
   towers, huge exponents or factorials, more than 10,000 characters, brackets nested
   deeper than 40): accuracy 0, status ``parse_error``, the reason says what was refused.
   The text around the kept expressions is not screened (a long reasoning text ending in
   ``\\boxed{-2}`` is graded), but texts over :data:`~unireward._mathsafe.screen.MAX_TEXT_CHARS`
   are refused whole.
4. **Fallback**: if the verifier itself fails (an exception, or the worker died), the
   PRM800K string grader decides, as in the reference.

If no worker process can be started at all (process creation forbidden), Math-Verify runs
in the calling process behind the screen (applied to the whole texts), without a hard
deadline; the reason says so.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .._mathsafe import native
from .._mathsafe.prm800k import grade_answer
from .._mathsafe.screen import MAX_TEXT_CHARS, refusal
from .._mathsafe.worker import WorkerDeadline, WorkerUnavailable, default_pool, verify_inline
from ..errors import ScoringDeadlineError
from ..result import Status, TaskOutcome
from .base import ScoreOptions, TaskScorer

__all__ = ["MathScorer"]

_STRUCTURE = 0.5
_MATCH = TaskOutcome(1.0, _STRUCTURE)
_MISS = TaskOutcome(0.0, _STRUCTURE)


def _refused(who: str, why: str) -> TaskOutcome:
    return TaskOutcome(
        0.0, _STRUCTURE, Status.PARSE_ERROR, f"{who} refused by the math screen: {why}"
    )


def _too_long(answer: str, truth: str) -> TaskOutcome | None:
    for text, who in ((answer, "answer"), (truth, "ground truth")):
        if len(text) > MAX_TEXT_CHARS:
            return _refused(who, f"longer than {MAX_TEXT_CHARS} characters")
    return None


def _deadline(step: str, options: ScoreOptions) -> TaskOutcome:
    reason = f"math check: {step} hit the {float(options.math_timeout):g} s deadline"
    if options.raise_on_error:
        raise ScoringDeadlineError(reason)
    return TaskOutcome(0.0, _STRUCTURE, Status.DEADLINE, reason)


def _from_verifier(
    out: dict[str, Any], answer: str, truth: str, options: ScoreOptions, note: str | None = None
) -> TaskOutcome:
    if "deadline" in out:
        return _deadline(str(out["deadline"]), options)
    if "refused" in out:
        return _refused(str(out.get("side", "answer")), str(out["refused"]))
    if "error" in out:
        ok = grade_answer(answer, truth)
        reason = f"verifier failed ({out['error']}); PRM800K string grader used"
        return TaskOutcome(1.0 if ok else 0.0, _STRUCTURE, Status.OK, reason)
    if note is None:
        return _MATCH if out.get("equal") else _MISS
    return TaskOutcome(1.0 if out.get("equal") else 0.0, _STRUCTURE, Status.OK, note)


def _inline(truth: str, answer: str, options: ScoreOptions, why: str) -> TaskOutcome:
    """No worker process: Math-Verify in this process, the whole texts screened."""
    for text, who in ((answer, "answer"), (truth, "ground truth")):
        refused = refusal(text)
        if refused is not None:
            return _refused(who, refused)
    note = f"{why}; verified in-process behind the screen (no hard deadline)"
    return _from_verifier(verify_inline(truth, answer), answer, truth, options, note)


class MathScorer(TaskScorer):
    """Math-Verify's verdicts, memoised, decided natively where exact, and otherwise
    computed in killable workers with per-step deadlines (see the module docs).

    :attr:`decided_by` counts, over the scorer's life, how each pair was decided:
    ``native``, ``cache`` (memo within a batch), ``math_verify`` (a worker), ``screen``
    (refused), ``deadline``, ``fallback`` (the string grader) and ``inline``.

    >>> s, o = MathScorer(), ScoreOptions()
    >>> s.score("$$-\\\\dfrac{3}{2}$$", "-1.5", data_type=None, options=o).accuracy
    1.0
    >>> r = s.score("\\\\boxed{9^{9^{9^{9}}}}", "3", data_type=None, options=o)
    >>> r.accuracy, r.status.value, r.reason
    (0.0, 'parse_error', 'answer refused by the math screen: power tower (three levels)')
    """

    name = "math"
    check_spec = "unireward.testing._tasks:MathSpec"
    structured = False

    def __init__(self) -> None:
        self.decided_by: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"decided_by": Counter(self.decided_by)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.decided_by = state["decided_by"]
        self._lock = threading.Lock()

    def score_many(
        self,
        answers: Sequence[str],
        truths: Sequence[Any],
        data_types: Sequence[str | None],
        options: ScoreOptions,
    ) -> list[TaskOutcome]:
        """Score a batch: memo and native path inline, the rest across the worker pool."""
        if len(answers) != len(truths) or len(answers) != len(data_types):
            raise ValueError("answers, truths and data_types must have the same length")
        counts: Counter[str] = Counter()
        results: list[TaskOutcome | None] = [None] * len(answers)
        memo: dict[tuple[str, Any], TaskOutcome] = {}
        read_truths: dict[str, native.Value | None] = {}
        # (truth, answer) -> indices waiting for Math-Verify, and their memo keys
        waiting: dict[tuple[str, str], list[int]] = {}
        keys: dict[tuple[str, str], tuple[str, Any] | None] = {}
        for i, (answer, truth) in enumerate(zip(answers, truths, strict=True)):
            pair = (truth, answer)
            if pair in memo:
                results[i] = memo[pair]
                counts["cache"] += 1
                continue
            if pair in waiting:
                waiting[pair].append(i)
                counts["cache"] += 1
                continue
            long = _too_long(answer, truth)
            if long is not None:
                results[i] = memo[pair] = long
                counts["screen"] += 1
                continue
            if truth not in read_truths:
                read_truths[truth] = native.read(truth)
            gold = read_truths[truth]
            value = native.read(answer)
            canonical = None if value is None else (truth, (type(value).__name__, value))
            if canonical is not None and canonical in memo:
                results[i] = memo[pair] = memo[canonical]
                counts["cache"] += 1
                continue
            verdict = None if gold is None or value is None else native.compare(gold, value)
            if verdict is not None:
                results[i] = memo[pair] = _MATCH if verdict else _MISS
                if canonical is not None:
                    memo[canonical] = results[i]  # type: ignore[assignment]
                counts["native"] += 1
                continue
            waiting[pair] = [i]
            keys[pair] = canonical
        if waiting:
            for pair, outcome in self._symbolic(list(waiting), options, counts).items():
                for i in waiting[pair]:
                    results[i] = outcome
        with self._lock:
            self.decided_by.update(counts)
        return [r for r in results if r is not None]

    def _symbolic(
        self, pairs: list[tuple[str, str]], options: ScoreOptions, counts: Counter[str]
    ) -> dict[tuple[str, str], TaskOutcome]:
        """Math-Verify's verdicts for ``(truth, answer)`` pairs, grouped by truth."""
        timeout = float(options.math_timeout)
        pool = default_pool()
        by_truth: dict[str, list[str]] = {}
        for truth, answer in pairs:
            by_truth.setdefault(truth, []).append(answer)
        # one chunk per worker at most: each chunk parses its ground truth once
        per_chunk = max(1, -(-len(pairs) // pool.size))
        chunks = [
            (truth, answers[k : k + per_chunk])
            for truth, answers in by_truth.items()
            for k in range(0, len(answers), per_chunk)
        ]

        def run(
            chunk: tuple[str, list[str]],
        ) -> tuple[dict[tuple[str, str], TaskOutcome], Counter[str]]:
            truth, answers = chunk
            seen: Counter[str] = Counter()
            try:
                outs = pool.verify_group(truth, answers, timeout)
            except WorkerDeadline as exc:
                outs = [{"deadline": exc.step}]
            except WorkerUnavailable as exc:
                seen["inline"] += len(answers)
                return {(truth, a): _inline(truth, a, options, str(exc)) for a in answers}, seen
            done = {}
            for answer, out in zip(answers, outs, strict=True):
                seen[
                    "deadline"
                    if "deadline" in out
                    else "screen"
                    if "refused" in out
                    else "fallback"
                    if "error" in out
                    else "math_verify"
                ] += 1
                done[(truth, answer)] = _from_verifier(out, answer, truth, options)
            return done, seen

        found: dict[tuple[str, str], TaskOutcome] = {}
        if len(chunks) == 1:
            parts = [run(chunks[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(pool.size, len(chunks))) as ex:
                parts = list(ex.map(run, chunks))
        for done, seen in parts:
            found.update(done)
            counts.update(seen)
        return found


SCORERS = (MathScorer,)
