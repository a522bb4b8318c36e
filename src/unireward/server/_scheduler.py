"""Scoring work shared fairly between requests, with deadlines that count queue time.

A request becomes a :class:`Job` cut into units: chunks of rule-scored records, one unit
per math record (each may need a worker process for up to ``math_timeout`` seconds), and
one unit holding a request's open-ended records when a reward model scores them (its
scores are normalised per problem over the whole request). Each kind of unit has its own
:class:`Lane`: a few daemon threads that take one unit from each waiting job in turn
(round robin), so ten slow math items of one client hold at most one turn in ``n`` of the
math lane, and another client's single item starts as soon as a thread frees up.

A unit taken after its job's deadline is not scored: its rows get status ``deadline``. A
math unit taken in time runs with ``math_timeout`` cut to the time left. A cancelled job
(client gone, server stopping) drops its waiting units.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from ..api import score_batch
from ..result import RewardResult, Status

__all__ = ["Job", "Lane", "Unit", "error_result"]

log = logging.getLogger("unireward.server")


def error_result(reason: str, status: Status = Status.ERROR, task: str = "") -> RewardResult:
    """A row that could not be scored: every component 0, the status and the reason."""
    return RewardResult(total=0.0, accuracy=0.0, format=0.0, structure=0.0, task=task,
                        status=status, reason=reason[:500], issues=(status,))


def _task_of(record: Any) -> str:
    if isinstance(record, dict):
        t = record.get("task", record.get("problem_type"))
        return t if isinstance(t, str) else ""
    return ""


def score_isolated(records: Sequence[Any], kwargs: dict[str, Any]) -> list[RewardResult]:
    """:func:`score_batch` with ``errors="record"``; should the batch still raise (a record
    that breaks a scorer in an unforeseen way), each record is scored alone and the one that
    raises gets status ``error``. A reward-model failure is the caller's to report."""
    from ..errors import RemoteRewardError

    try:
        return score_batch(records, errors="record", **kwargs)
    except RemoteRewardError:
        raise
    except Exception as exc:  # noqa: BLE001 - isolate the row below
        if len(records) == 1:
            return [error_result(f"{type(exc).__name__}: {exc}", task=_task_of(records[0]))]
    out: list[RewardResult] = []
    for rec in records:
        out.extend(score_isolated([rec], kwargs))
    return out


class Unit:
    """Some rows of a job, scored together by one lane thread.

    Args:
        rows: the rows' positions in the job.
        records: their records.
        kwargs: keyword arguments of :func:`score_batch` (options, reward model).
        cut_math_timeout: run with ``math_timeout`` cut to the time left before the deadline.
    """

    __slots__ = ("cut_math_timeout", "kwargs", "records", "rows")

    def __init__(self, rows: list[int], records: list[Any], kwargs: dict[str, Any],
                 *, cut_math_timeout: bool = False) -> None:
        self.rows = rows
        self.records = records
        self.kwargs = kwargs
        self.cut_math_timeout = cut_math_timeout

    def run(self, job: Job) -> None:
        left = job.deadline - time.monotonic()
        if job.cancelled:
            job.unit_done(self, None)
            return
        if left <= 0:
            reason = f"the request deadline ({job.timeout:g} s, queue time included) passed first"
            job.unit_done(
                self, [error_result(reason, Status.DEADLINE, _task_of(r)) for r in self.records]
            )
            return
        kwargs = self.kwargs
        if self.cut_math_timeout:
            full = float(kwargs.get("math_timeout", 5.0))
            if left < full:
                kwargs = {**kwargs, "math_timeout": left}
        try:
            results = score_isolated(self.records, kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the request (a reward model: 502)
            job.fail(exc)
            job.unit_done(self, None)
            return
        job.unit_done(self, results)


class Job:
    """The rows of one request; ``future`` gets ``finish(results)`` (or the failure).

    ``finish`` runs in the thread that completes the job (building and encoding the
    response there keeps the event loop free): the lane thread of the last unit, or the
    caller of :meth:`expire`.
    """

    def __init__(self, n_rows: int, *, timeout: float, loop: asyncio.AbstractEventLoop,
                 finish: Callable[[list[RewardResult]], Any], started: float | None = None) -> None:
        self.results: list[RewardResult | None] = [None] * n_rows
        self.timeout = timeout
        self.deadline = (time.monotonic() if started is None else started) + timeout
        self.cancelled = False
        self.future: asyncio.Future[Any] = loop.create_future()
        self._loop = loop
        self._finish = finish
        self._lock = threading.Lock()
        self._left = 0
        self._settled = False  # the outcome is decided: later unit results are ignored
        self._failure: BaseException | None = None

    def expect(self, units: int) -> None:
        with self._lock:
            self._left += units

    def cancel(self) -> None:
        """Drop the units that have not started (the running ones finish)."""
        self.cancelled = True

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = exc
        self.cancelled = True

    def unit_done(self, unit: Unit, results: list[RewardResult] | None) -> None:
        with self._lock:
            if results is not None and not self._settled:
                for i, r in zip(unit.rows, results, strict=True):
                    self.results[i] = r
            self._left -= 1
            last = self._left == 0 and not self._settled
            if last:
                self._settled = True
        if last:
            self._complete()

    def expire(self) -> None:
        """Answer now, at the deadline: rows not scored yet get status ``deadline``. Units
        still running (a math worker being replaced, say) finish unseen."""
        with self._lock:
            if self._settled:
                return
            self._settled = True
            self.cancelled = True
        self._complete(expired=True)

    def _complete(self, expired: bool = False) -> None:
        if self._failure is not None:
            self._settle(None, self._failure)
            return
        if self.cancelled and not expired:
            self._settle(None, asyncio.CancelledError())
            return
        late = error_result(
            f"the request deadline ({self.timeout:g} s, queue time included) passed first",
            Status.DEADLINE,
        )
        lost = error_result("not scored (an internal error; please report it)")
        results = [r if r is not None else (late if expired else lost) for r in self.results]
        try:
            value = self._finish(results)
        except BaseException as exc:  # noqa: BLE001 - reported by the request
            self._settle(None, exc)
            return
        self._settle(value, None)

    def _settle(self, value: Any, exc: BaseException | None) -> None:
        def settle() -> None:
            if self.future.done():
                return
            if isinstance(exc, asyncio.CancelledError):
                self.future.cancel()
            elif exc is not None:
                self.future.set_exception(exc)
            else:
                self.future.set_result(value)

        try:
            self._loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop is closed: the server is gone
            pass


class Lane:
    """Daemon threads that serve the units of waiting jobs one job at a time, in turn.

    Args:
        name: for thread names and logs.
        threads: how many units run at once.
    """

    def __init__(self, name: str, threads: int) -> None:
        self.name = name
        self._cond = threading.Condition()
        self._waiting: deque[tuple[Job, deque[Unit]]] = deque()
        self._queued = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._serve, name=f"unireward-{name}-{i}", daemon=True)
            for i in range(max(1, int(threads)))
        ]
        for t in self._threads:
            t.start()

    @property
    def queued(self) -> int:
        """Units waiting for a thread."""
        return self._queued

    def submit(self, job: Job, units: list[Unit]) -> None:
        if not units:
            return
        with self._cond:
            self._waiting.append((job, deque(units)))
            self._queued += len(units)
            self._cond.notify(len(units))

    def _next(self) -> tuple[Job, Unit] | None:
        with self._cond:
            while not self._waiting:
                if self._closed:
                    return None
                self._cond.wait()
            job, units = self._waiting.popleft()
            unit = units.popleft()
            self._queued -= 1
            if units:
                self._waiting.append((job, units))  # to the back of the line: round robin
            return job, unit

    def _serve(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            job, unit = item
            try:
                unit.run(job)
            except BaseException:  # noqa: BLE001 - a lane thread must survive anything
                log.exception("unexpected failure in the %s lane", self.name)

    def close(self) -> None:
        """Let the threads end once the waiting units are done."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
