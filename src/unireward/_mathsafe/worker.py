"""Worker processes for symbolic math checking, killed and replaced at a hard deadline.

A worker is a plain subprocess (``python -m unireward._mathsafe.worker``) that answers
JSON lines on its stdin/stdout. Symbolic work can hold the GIL inside C code for minutes
(sympy evaluating ``9**387420489``); no thread can interrupt that, but the parent can
always kill the process. Plain subprocesses (not ``multiprocessing`` children) work the
same from the main thread, from worker threads and from daemonic ``multiprocessing``
workers (which may not have ``multiprocessing`` children of their own).

- A worker that misses its deadline is killed (SIGKILL) and a replacement is started at
  once in the background, so the next item does not wait for the import of sympy.
- Each request also sets a CPU-time limit in the worker (the deadline plus 5 s), so even
  the orphan of a crashed trainer stops computing a power tower soon; workers are closed
  at interpreter exit and exit by themselves when their stdin closes.
- Library output in the worker goes to its stderr (discarded), never into the protocol.
- If no worker process can be started at all (:class:`WorkerUnavailable`), the caller
  decides how to degrade (the math scorer then verifies in-process, behind the screen).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["MathWorkerPool", "WorkerDeadline", "WorkerUnavailable", "default_pool"]

#: How long a fresh worker may take to import its libraries (not part of any deadline).
STARTUP_TIMEOUT = 120.0


class WorkerDeadline(Exception):
    """The worker did not answer before the deadline (it has been killed)."""


class WorkerUnavailable(Exception):
    """No worker process could be started (e.g. process creation is not permitted)."""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])  # the folder holding ``unireward``
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


class _Worker:
    def __init__(self) -> None:
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-u", "-m", "unireward._mathsafe.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_child_env(),
                close_fds=True,
            )
        except OSError as exc:
            raise WorkerUnavailable(f"cannot start a math worker process: {exc}") from exc
        self.ready = False
        self._buf = b""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=10)
        except Exception:  # noqa: S110 - best effort
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except Exception:  # noqa: S110 - best effort
                pass

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise ConnectionError("math worker exited") from exc
        fd = self.proc.stdout.fileno()
        end = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = end - time.monotonic()
            if left <= 0:
                raise WorkerDeadline(f"no answer within {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise ConnectionError("math worker exited")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)


class MathWorkerPool:
    """A small pool of math worker processes, safe to use from many threads.

    Each call takes a free worker (starting one if fewer than ``size`` exist), sends the
    pair and waits at most ``timeout`` seconds for the answer (a fresh worker's start-up
    is waited for separately, up to :data:`STARTUP_TIMEOUT`).
    """

    def __init__(self, size: int = 2) -> None:
        self.size = max(1, int(size))
        self._free: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()
        self._closed = False
        self.kills = 0  #: workers killed at a deadline (for monitoring)

    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                while self._free:
                    w = self._free.pop()
                    if w.alive():
                        return w
                    self._count -= 1
                if self._count < self.size:
                    self._count += 1
                    break
                self._cond.wait()
        try:
            return _Worker()
        except Exception:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _release(self, w: _Worker) -> None:
        with self._cond:
            if w.alive() and not self._closed:
                self._free.append(w)
            else:
                self._count -= 1
                if self._closed:
                    w.kill()
            self._cond.notify()

    def _replace(self, dead: _Worker) -> None:
        """Kill ``dead`` and start its replacement now (it imports while we go on)."""
        dead.kill()
        with self._cond:
            self._count -= 1
            self.kills += 1
            if self._closed or self._count >= self.size:
                self._cond.notify()
                return
            self._count += 1
        try:
            fresh = _Worker()
        except Exception:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            return
        self._release(fresh)

    def verify(self, gold: str, answer: str, timeout: float) -> dict[str, Any]:
        """``{"equal": bool}``, or ``{"error": text}`` when the verifier failed.

        Raises :class:`WorkerDeadline` after ``timeout`` seconds (the worker is killed and
        replaced) and :class:`WorkerUnavailable` when no process can be started.
        """
        w = self._acquire()
        try:
            if not w.ready:
                w.call({"op": "ping"}, STARTUP_TIMEOUT)
                w.ready = True
            request = {"op": "verify", "gold": gold, "answer": answer, "cpu_limit": timeout + 5.0}
            out = w.call(request, timeout)
        except WorkerDeadline:
            self._replace(w)
            raise
        except (ConnectionError, ValueError) as exc:  # the worker died or garbled its answer
            self._replace(w)
            return {"error": f"math worker failed: {exc}"}
        except BaseException:
            self._replace(w)
            raise
        self._release(w)
        return out

    def close(self) -> None:
        """Kill every idle worker; busy ones are killed when they are handed back."""
        with self._cond:
            self._closed = True
            workers, self._free = self._free, []
            self._count -= len(workers)
        for w in workers:
            w.kill()


_POOL: MathWorkerPool | None = None
_POOL_PID: int | None = None
_POOL_LOCK = threading.Lock()


def default_pool() -> MathWorkerPool:
    """The process-wide pool (created on first use, sized to the CPU count, at most 4).

    A forked child gets its own pool (it never shares its parent's pipes).
    """
    global _POOL, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or _POOL_PID != os.getpid():
            _POOL = MathWorkerPool(size=min(4, os.cpu_count() or 1))
            _POOL_PID = os.getpid()
        return _POOL


def _close_default_pool() -> None:
    if _POOL is not None and _POOL_PID == os.getpid():
        _POOL.close()


atexit.register(_close_default_pool)


def verify_inline(gold: str, answer: str) -> dict[str, Any]:
    """Math-Verify's verdict computed in this process, without its signal-based timeouts."""
    import math_verify

    try:
        g = math_verify.parse(gold, parsing_timeout=None)  # type: ignore[arg-type]
        a = math_verify.parse(answer, parsing_timeout=None)  # type: ignore[arg-type]
        return {"equal": bool(math_verify.verify(g, a, timeout_seconds=None))}
    except Exception as exc:  # the caller falls back to the string grader
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def _limit_cpu(seconds: float) -> None:  # pragma: no cover - runs in the worker process
    """Let the kernel stop this worker after ``seconds`` more CPU time (SIGXCPU).

    The parent kills a worker at the wall-clock deadline, which always comes first; this
    limit only matters when the parent is gone (an orphan never computes for long).
    """
    try:
        import resource

        used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = int(used + seconds) + 1
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except Exception:  # noqa: S110 - not available on this platform
        pass


def _serve() -> None:  # pragma: no cover - runs in the worker process
    import logging
    import signal
    import warnings

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    warnings.filterwarnings("ignore")
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the protocol
    for raw in sys.stdin.buffer:
        try:
            req = json.loads(raw)
        except ValueError:
            continue
        if req.get("op") == "ping":
            verify_inline("1", "1")  # import and warm up before answering
            out: dict[str, Any] = {"ok": True}
        else:
            _limit_cpu(float(req.get("cpu_limit", 60.0)))
            out = verify_inline(str(req.get("gold", "")), str(req.get("answer", "")))
        protocol.write(json.dumps(out) + "\n")
        protocol.flush()


if __name__ == "__main__":  # pragma: no cover
    _serve()
