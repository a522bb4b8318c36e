"""Worker processes for symbolic math checking, killed and replaced at a hard deadline.

A worker is a plain subprocess (``python -P -m unireward._mathsafe.worker``) that answers
JSON lines on its stdin/stdout. Symbolic work can hold the GIL inside C code for minutes
(sympy evaluating ``9**387420489``); no thread can interrupt that, but the parent can
always kill the process. Plain subprocesses (not ``multiprocessing`` children) work the
same from the main thread, from worker threads and from daemonic ``multiprocessing``
workers (which may not have ``multiprocessing`` children of their own).

Each pair is three steps, as in the reference's ``verify(parse(gold), parse(answer))``:
parse the ground truth, parse the answer, verify. Each step has its own deadline (the
``timeout`` given, 5 s by default, as the reference gives each call its own 5 s), so a
pair is bounded by three deadlines. The worker reports each finished step on the pipe;
parses are kept in a small cache, so a ground truth shared by the rollouts of a problem
is parsed once per worker.

- The screen (:func:`unireward._mathsafe.screen.refusal`) runs inside the worker on each
  expression Math-Verify's extraction keeps, right before it reaches the symbolic
  engine (not on the text around it): a long reasoning text ending in ``\\boxed{-2}`` is
  parsed, a power tower that extraction keeps is refused.
- A worker that misses a deadline is killed (SIGKILL) and a replacement is started at
  once in the background, so the next item does not wait for the import of sympy.
- Workers end with their parent: on Linux the kernel kills them when the process that
  owns the pool dies (``PR_SET_PDEATHSIG``; they are started from one long-lived thread
  of the pool for that reason), elsewhere a watchdog thread notices; each request also
  sets a CPU-time limit, and idle workers exit when their stdin closes.
- Workers start with an isolated import path: ``-P`` keeps the current directory off
  ``sys.path`` (a ``math_verify.py`` lying there is never imported), ``PYTHONPATH`` is
  kept with its entries made absolute and its empty (current directory) entries dropped.
- Library output in the worker goes to its stderr (discarded), never into the protocol.
- If no worker process can be started at all (:class:`WorkerUnavailable`), the caller
  decides how to degrade (the math scorer then verifies in-process, behind the screen).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = [
    "STEPS",
    "MathWorkerPool",
    "WorkerDeadline",
    "WorkerUnavailable",
    "default_pool",
    "pool_size",
    "verify_inline",
]

logger = logging.getLogger("unireward.math")

#: How long a fresh worker may take to import its libraries (not part of any deadline).
STARTUP_TIMEOUT = 120.0
#: The steps of one pair, in order, as reported by the worker.
STEPS = ("parsing the ground truth", "parsing the answer", "verifying")
#: Parsed texts kept per worker (ground truths shared by rollouts are parsed once).
PARSE_CACHE_SIZE = 1024


class WorkerDeadline(Exception):
    """The worker did not finish a step before its deadline (it has been killed)."""

    def __init__(self, step: str, timeout: float) -> None:
        super().__init__(f"{step} hit the {timeout:g} s deadline")
        self.step = step
        self.timeout = timeout


class WorkerUnavailable(Exception):
    """No worker process could be started (e.g. process creation is not permitted)."""


def pool_size() -> int:
    """Workers of the default pool: ``UNIREWARD_MATH_WORKERS`` when set (an integer >= 1),
    else the CPUs this process may run on, at most 8."""
    configured = os.environ.get("UNIREWARD_MATH_WORKERS", "").strip()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            from ..errors import ConfigurationError

            raise ConfigurationError(
                f"UNIREWARD_MATH_WORKERS must be an integer >= 1, got {configured!r}"
            )
        return int(configured)
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def _child_env() -> dict[str, str]:
    """The worker's environment: this package first on the path, no relative entries."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])  # the folder holding ``unireward``
    entries = [src] + [
        str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p
    ]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(entries))
    env.pop("PYTHONSTARTUP", None)
    env.pop("PYTHONSAFEPATH", None)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def _command() -> list[str]:
    return [sys.executable, "-P", "-u", "-m", "unireward._mathsafe.worker", str(os.getpid())]


class _Worker:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
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

    def send(self, request: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise ConnectionError("math worker exited") from exc

    def read(self, timeout: float) -> dict[str, Any] | None:
        """The next message, or None when ``timeout`` seconds pass first."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        end = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise ConnectionError("math worker exited")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        out = json.loads(line)
        if not isinstance(out, dict):
            raise ValueError("math worker answered something other than an object")
        return out

    def verify(self, gold: str, answer: str, timeout: float) -> dict[str, Any]:
        """Run the three steps, each within ``timeout`` seconds (raises WorkerDeadline)."""
        self.send({"op": "verify", "gold": gold, "answer": answer, "cpu_limit": 3 * timeout + 5})
        step = 0
        while True:
            out = self.read(timeout)
            if out is None:
                raise WorkerDeadline(STEPS[min(step, len(STEPS) - 1)], timeout)
            if "step" in out:
                step += 1
                continue
            return out

    def ping(self) -> None:
        self.send({"op": "ping"})
        if self.read(STARTUP_TIMEOUT) is None:
            raise ConnectionError(f"math worker not ready within {STARTUP_TIMEOUT:g} s")
        self.ready = True


class MathWorkerPool:
    """A pool of math worker processes, safe to use from many threads.

    Each call takes a free worker (starting one if fewer than ``size`` exist) and runs the
    pair's three steps, each within ``timeout`` seconds (a fresh worker's start-up is waited
    for separately, up to :data:`STARTUP_TIMEOUT`). :meth:`start` starts every worker at
    once in the background, so a first batch finds them warm.
    """

    def __init__(self, size: int = 2) -> None:
        self.size = max(1, int(size))
        self._free: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()
        self._closed = False
        # Processes are started from this one long-lived thread: on Linux a worker is
        # killed when the thread that started it ends, and this thread lives as long as
        # the pool (a worker thread of the caller may end at any time).
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unireward-math")
        self.kills = 0  #: workers killed at a deadline (for monitoring)

    def _spawn(self) -> _Worker:
        def popen() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                _command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_child_env(),
                close_fds=True,
            )

        try:
            return _Worker(self._spawner.submit(popen).result())
        except (OSError, RuntimeError) as exc:
            raise WorkerUnavailable(f"cannot start a math worker process: {exc}") from exc

    def start(self) -> None:
        """Start the missing workers now, in the background (they import while we go on)."""

        def warm() -> None:
            try:
                w = self._spawn()
                w.ping()
            except Exception as exc:  # the next call reports it
                logger.debug("math worker warm start failed: %s", exc)
                with self._cond:
                    self._count -= 1
                    self._cond.notify()
                return
            self._release(w)

        with self._cond:
            missing = 0 if self._closed else self.size - self._count
            self._count += missing
        for _ in range(missing):
            threading.Thread(target=warm, daemon=True).start()

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> bool:
        """Start the missing workers and wait until all are idle and warm (True), or until
        ``timeout`` seconds pass (False). For benchmarks and tests; scoring never needs it."""
        self.start()
        end = time.monotonic() + timeout
        with self._cond:
            while len(self._free) < self.size:
                left = end - time.monotonic()
                if left <= 0 or self._closed:
                    return False
                self._cond.wait(left)
            return True

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
            return self._spawn()
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
            self._cond.notify()
        self.start()

    def verify(self, gold: str, answer: str, timeout: float) -> dict[str, Any]:
        """``{"equal": bool}``; ``{"refused": why, "side": ...}`` when the screen refused an
        expression; ``{"error": text}`` when the verifier failed.

        Raises :class:`WorkerDeadline` when a step misses its ``timeout`` (the worker is
        killed and replaced) and :class:`WorkerUnavailable` when no process can be started.
        """
        return self.verify_group(gold, [answer], timeout)[0]

    def verify_group(self, gold: str, answers: list[str], timeout: float) -> list[dict[str, Any]]:
        """Verify several answers against one ground truth on one worker (parsed once).

        Like :meth:`verify`, except that a missed deadline does not raise when there are
        several answers: that answer's entry is ``{"deadline": step}`` and the others go on
        (on a fresh worker).
        """
        out: list[dict[str, Any]] = []
        w: _Worker | None = None
        try:
            for answer in answers:
                if w is None:
                    w = self._acquire()
                try:
                    if not w.ready:
                        w.ping()
                    out.append(w.verify(gold, answer, timeout))
                except WorkerDeadline as exc:
                    dead, w = w, None
                    self._replace(dead)
                    if len(answers) == 1:
                        raise
                    out.append({"deadline": exc.step})
                except (ConnectionError, ValueError) as exc:  # died or garbled its answer
                    dead, w = w, None
                    self._replace(dead)
                    out.append({"error": f"math worker failed: {exc}"})
        except BaseException:
            if w is not None:
                self._replace(w)
            raise
        if w is not None:
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
        self._spawner.shutdown(wait=False)


_POOL: MathWorkerPool | None = None
_POOL_PID: int | None = None
_POOL_LOCK = threading.Lock()


def default_pool() -> MathWorkerPool:
    """The process-wide pool, created and started on first use (:func:`pool_size` workers).

    A forked child gets its own pool (it never shares its parent's pipes).
    """
    global _POOL, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or _POOL_PID != os.getpid():
            _POOL = MathWorkerPool(size=pool_size())
            _POOL_PID = os.getpid()
            _POOL.start()
        return _POOL


def _close_default_pool() -> None:
    if _POOL is not None and _POOL_PID == os.getpid():
        _POOL.close()


atexit.register(_close_default_pool)


def verify_inline(gold: str, answer: str) -> dict[str, Any]:
    """Math-Verify's verdict computed in this process, without its signal-based timeouts
    (used only when no worker process can be started; the caller screens the texts)."""
    import math_verify

    try:
        g = math_verify.parse(gold, parsing_timeout=None)  # type: ignore[arg-type]
        a = math_verify.parse(answer, parsing_timeout=None)  # type: ignore[arg-type]
        return {"equal": bool(math_verify.verify(g, a, timeout_seconds=None))}
    except Exception as exc:  # the caller falls back to the string grader
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


# ---- the worker process ----------------------------------------------------------------


#: Pairs a fresh worker verifies before it reports ready: the first trigonometric,
#: exponential, matrix, tuple and equation comparisons in a process cost 0.1-0.7 s of
#: one-time set-up in sympy, paid here in the background instead of by a scored pair.
WARM_UP = (
    ("$1$", "1"),
    ("$\\sin(3x)$", "$\\cos(3x)$"),
    ("$e^{3x}$", "$3e^{x}$"),
    ("$\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}$", "$(1, 2)$"),
    ("$(5, 3)$", "$(3, 5)$"),
    ("$y=2x+1$", "$y=3x+1$"),
    ("$x \\le 3$", "$(-\\infty, 3]$"),
)


class _ScreenRefusal(BaseException):
    """Raised inside Math-Verify's parse when the screen refuses an extracted expression.

    A ``BaseException``, so that Math-Verify's ``except Exception`` does not swallow it and
    go on to another candidate: the whole text is refused, as the screen intends.
    """


def _install_screen() -> None:  # pragma: no cover - runs in the worker process
    """Screen each expression Math-Verify's extraction hands to its symbolic parsers."""
    from math_verify import parser

    from .screen import refusal

    def screened(original: Any) -> Any:
        def parse_one(text: str) -> Any:
            why = refusal(text)
            if why is not None:
                raise _ScreenRefusal(why)
            return original(text)

        return parse_one

    parser.parse_latex_cached = screened(parser.parse_latex_cached)  # type: ignore[assignment]
    parser.parse_expr_cached = screened(parser.parse_expr_cached)  # type: ignore[assignment]


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


def _bind_to_parent(parent: int) -> None:  # pragma: no cover - runs in the worker process
    """End this process when ``parent`` ends (the kernel's signal, else a watchdog)."""
    import signal

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except Exception:  # noqa: S110 - the watchdog below still runs
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    if os.getppid() != parent:
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


class _Parses:  # pragma: no cover - runs in the worker process
    """Math-Verify's ``parse`` behind a bounded cache (results are never mutated)."""

    def __init__(self) -> None:
        import math_verify

        self._parse = math_verify.parse
        self._cache: OrderedDict[str, Any] = OrderedDict()

    def __call__(self, text: str) -> Any:
        if text in self._cache:
            self._cache.move_to_end(text)
            return self._cache[text]
        value = self._parse(text, parsing_timeout=None)
        self._cache[text] = value
        if len(self._cache) > PARSE_CACHE_SIZE:
            self._cache.popitem(last=False)
        return value


def _serve() -> None:  # pragma: no cover - runs in the worker process
    import signal
    import warnings

    _bind_to_parent(int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid())
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    warnings.filterwarnings("ignore")
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the protocol

    import math_verify

    _install_screen()
    parse = _Parses()

    def emit(obj: dict[str, Any]) -> None:
        protocol.write(json.dumps(obj) + "\n")
        protocol.flush()

    def pair(gold: str, answer: str) -> dict[str, Any]:
        parsed = []
        for side, text in (("ground truth", gold), ("answer", answer)):
            try:
                parsed.append(parse(text))
            except _ScreenRefusal as why:
                return {"refused": str(why), "side": side}
            emit({"step": side})
        try:
            return {"equal": bool(math_verify.verify(parsed[0], parsed[1], timeout_seconds=None))}
        except Exception as exc:  # the parent falls back to the string grader
            return {"error": f"{type(exc).__name__}: {exc}"[:300]}
        except _ScreenRefusal as why:
            return {"refused": str(why), "side": "answer"}

    for raw in sys.stdin.buffer:
        try:
            req = json.loads(raw)
        except ValueError:
            continue
        if req.get("op") == "ping":
            for gold, answer in WARM_UP:
                math_verify.verify(parse(gold), parse(answer), timeout_seconds=None)
            emit({"ok": True})
            continue
        _limit_cpu(float(req.get("cpu_limit", 60.0)))
        emit(pair(str(req.get("gold", "")), str(req.get("answer", ""))))


if __name__ == "__main__":  # pragma: no cover
    _serve()
