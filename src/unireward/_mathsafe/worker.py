"""A worker process for symbolic math checking, killed and replaced at a hard deadline.

The worker is a plain subprocess (``python -m unireward._mathsafe.worker``) talking JSON
lines over its stdin/stdout, so it works from the main thread, from worker threads and from
daemonic worker processes (which may not start ``multiprocessing`` children). Symbolic work
can hold the GIL inside C code for minutes (sympy evaluating ``9**387420489``); no thread
can interrupt that, but the parent can always kill the process.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any

__all__ = ["MathWorkerPool", "WorkerDeadline", "default_pool"]


class WorkerDeadline(Exception):
    """The worker did not answer before the deadline (it has been killed)."""


class _Worker:
    def __init__(self) -> None:
        env = dict(os.environ)
        env.setdefault("PYTHONHASHSEED", "0")
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "unireward._mathsafe.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._buf = b""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: S110 - best effort
            pass

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
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
                raise RuntimeError("math worker exited")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)


class MathWorkerPool:
    """A small pool of math worker processes, safe to use from many threads.

    Each call takes a free worker (starting one if fewer than ``size`` exist), sends the
    pair and waits at most ``timeout`` seconds (the first call of a fresh worker also waits
    for its start-up, ``startup_timeout``); a worker that misses its deadline is killed and
    replaced.
    """

    def __init__(self, size: int = 2, startup_timeout: float = 60.0) -> None:
        self.size = max(1, int(size))
        self.startup_timeout = startup_timeout
        self._free: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()

    def _acquire(self) -> tuple[_Worker, bool]:
        with self._cond:
            while True:
                while self._free:
                    w = self._free.pop()
                    if w.alive():
                        return w, False
                    self._count -= 1
                if self._count < self.size:
                    self._count += 1
                    break
                self._cond.wait()
        try:
            return _Worker(), True
        except Exception:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _release(self, w: _Worker | None) -> None:
        with self._cond:
            if w is not None and w.alive():
                self._free.append(w)
            else:
                self._count -= 1
            self._cond.notify()

    def verify(self, gold: str, answer: str, timeout: float) -> dict[str, Any]:
        """``{"equal": bool}`` or ``{"error": text}``; raises :class:`WorkerDeadline`."""
        w, fresh = self._acquire()
        try:
            if fresh:
                w.call({"op": "ping"}, self.startup_timeout)
            out = w.call({"op": "verify", "gold": gold, "answer": answer}, timeout)
        except BaseException:
            w.kill()
            self._release(None)
            raise
        self._release(w)
        return out

    def close(self) -> None:
        with self._cond:
            workers, self._free = self._free, []
            self._count -= len(workers)
        for w in workers:
            w.kill()


_POOL: MathWorkerPool | None = None
_POOL_LOCK = threading.Lock()


def default_pool() -> MathWorkerPool:
    """The process-wide pool (created on first use, sized to the CPU count, at most 4)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = MathWorkerPool(size=min(4, os.cpu_count() or 1))
        return _POOL


def _serve() -> None:  # pragma: no cover - runs in the worker process
    import math_verify

    for raw in sys.stdin.buffer:
        req = json.loads(raw)
        if req.get("op") == "ping":
            out: dict[str, Any] = {"ok": True}
        else:
            try:
                gold = math_verify.parse(req["gold"], parsing_timeout=None)  # type: ignore[arg-type]
                ans = math_verify.parse(req["answer"], parsing_timeout=None)  # type: ignore[arg-type]
                out = {"equal": bool(math_verify.verify(gold, ans, timeout_seconds=None))}
            except Exception as exc:  # the caller falls back to the string grader
                out = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    import logging
    import warnings

    logging.disable(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    _serve()
