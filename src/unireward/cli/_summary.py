"""Per-task summaries of scored rows, and the progress display of long runs."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import IO, Any

__all__ = ["PARSE_FAILURES", "Progress", "Summary"]

#: statuses counted as parse failures
PARSE_FAILURES = frozenset({"parse_error", "malformed_json", "schema_error"})
_SUMS = (
    "n",
    "reward",
    "accuracy",
    "format",
    "structure",
    "format_fail",
    "parse",
    "fallback",
    "error",
    "ground_truth",
)


class Summary:
    """Counts and sums per task; JSON-ready so a resumed run carries them over.

    >>> s = Summary()
    >>> s.add("numerical", 1.5, 1.0, 1.0, 0.5, "ok")
    >>> s.add("numerical", 0.0, 0.0, 0.0, 0.0, "parse_error")
    >>> s.add("numerical", 0.75, 0.0, 1.0, 0.5, "ground_truth_error")
    >>> row = s.rows()[0]
    >>> (row["task"], row["rows"], row["reward"], row["format_fail"], row["parse"],
    ...  row["ground_truth"])
    ('numerical', 3, 0.75, 0.3333333333333333, 1, 1)
    >>> Summary.from_json(s.to_json()).rows() == s.rows()
    True
    """

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, float]] = {}

    def add(self, task: str, reward: float, accuracy: float, fmt: float, structure: float,
            status: str) -> None:
        s = self.tasks.get(task)
        if s is None:
            s = self.tasks[task] = dict.fromkeys(_SUMS, 0.0)
        s["n"] += 1
        s["reward"] += reward
        s["accuracy"] += accuracy
        s["format"] += fmt
        s["structure"] += structure
        s["format_fail"] += fmt == 0.0
        s["parse"] += status in PARSE_FAILURES
        s["fallback"] += status == "fallback"
        s["error"] += status == "error"
        s["ground_truth"] += status == "ground_truth_error"

    def extend(self, entries: Iterable[tuple[str, float, float, float, float, str]]) -> None:
        for e in entries:
            self.add(*e)

    @property
    def rows_total(self) -> int:
        return int(sum(s["n"] for s in self.tasks.values()))

    @property
    def errors(self) -> int:
        return int(sum(s["error"] for s in self.tasks.values()))

    @property
    def ground_truth_errors(self) -> int:
        """Rows whose ground truth could not be used (scored with accuracy 0)."""
        return int(sum(s["ground_truth"] for s in self.tasks.values()))

    def to_json(self) -> dict[str, Any]:
        return {task: dict(s) for task, s in self.tasks.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        out = cls()
        for task, s in data.items():
            out.tasks[str(task)] = {k: float(s.get(k, 0.0)) for k in _SUMS}
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One dict per task (sorted by name): rows, means and failure counts."""
        out = []
        for task in sorted(self.tasks):
            s = self.tasks[task]
            n = s["n"]
            out.append({
                "task": task, "rows": int(n),
                "reward": s["reward"] / n, "accuracy": s["accuracy"] / n,
                "format": s["format"] / n, "structure": s["structure"] / n,
                "format_fail": s["format_fail"] / n, "parse": int(s["parse"]),
                "fallback": int(s["fallback"]), "error": int(s["error"]),
                "ground_truth": int(s["ground_truth"]),
            })
        return out

    def table(self) -> str:
        """A plain-text table (format failures as a share; the rest as counts; ``bad gt``:
        rows whose ground truth could not be used)."""
        head = (f"{'task':<28}{'rows':>9}{'reward':>8}{'acc':>7}{'format':>8}{'struct':>8}"
                f"{'fmt fail':>9}{'parse':>7}{'fallbk':>7}{'errors':>7}{'bad gt':>7}")
        lines = [head, "-" * len(head)]
        for r in self.rows():
            lines.append(
                f"{r['task'][:27]:<28}{r['rows']:>9,}{r['reward']:>8.3f}{r['accuracy']:>7.3f}"
                f"{r['format']:>8.3f}{r['structure']:>8.3f}{r['format_fail']:>9.1%}{r['parse']:>7}"
                f"{r['fallback']:>7}{r['error']:>7}{r['ground_truth']:>7}"
            )
        return "\n".join(lines)


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Rows committed, rows/s, the share of the input they cover and the ETA, on stderr.

    On a terminal: a live bar (``rich`` when installed, else a one-line bar redrawn in
    place). Otherwise (logs, CI): a plain line every ``every`` seconds.
    """

    def __init__(self, *, enabled: bool = True, every: float = 10.0, stream: IO[str] | None = None,
                 start_rows: int = 0) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self.every = every
        self.start = self.last = time.monotonic()
        self.start_rows = start_rows
        self.fraction: float | None = None
        self._rich: Any = None
        self._task: Any = None
        if self.tty:
            try:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    TaskProgressColumn,
                    TextColumn,
                    TimeRemainingColumn,
                )
                from rich.progress import Progress as RichProgress
            except ImportError:
                pass
            else:
                self._rich = RichProgress(
                    TextColumn("scoring"), BarColumn(), TaskProgressColumn(),
                    TextColumn("{task.fields[rows]} rows  {task.fields[rate]} rows/s"),
                    TextColumn("ETA"), TimeRemainingColumn(),
                    console=Console(file=self.stream), auto_refresh=False, transient=False,
                )
                self._task = self._rich.add_task("score", total=1.0, rows="0", rate="0")
                self._rich.start()

    def _line(self, rows: int, fraction: float | None, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = (rows - self.start_rows) / elapsed
        msg = f"{rows:,} rows  {rate:,.0f} rows/s"
        if fraction is not None and fraction > 0:
            msg += f"  {fraction:.0%}"
            if fraction < 1:
                msg += f"  ETA {_clock(elapsed * (1 - fraction) / fraction)}"
        return msg

    def update(self, rows: int, fraction: float | None) -> None:
        """``rows`` committed so far; ``fraction``: the share of the input they cover (None
        when unknown)."""
        if not self.enabled:
            return
        if fraction is not None:
            self.fraction = min(max(fraction, self.fraction or 0.0), 1.0)
        fraction = self.fraction
        now = time.monotonic()
        if self._rich is not None:
            rate = (rows - self.start_rows) / max(now - self.start, 1e-9)
            self._rich.update(
                self._task, completed=fraction or 0.0, rows=f"{rows:,}", rate=f"{rate:,.0f}"
            )
            if now - self.last >= 0.1:
                self._rich.refresh()
                self.last = now
        elif self.tty:
            if now - self.last >= 0.1:
                frac = fraction or 0.0
                bar = "#" * int(frac * 30)
                print(f"\r[{bar:<30}] {self._line(rows, fraction, now)}   ", end="",
                      file=self.stream, flush=True)
                self.last = now
        elif now - self.last >= self.every:
            print(f"unireward: {self._line(rows, fraction, now)}", file=self.stream, flush=True)
            self.last = now

    def close(self, rows: int, *, complete: bool = True) -> None:
        """The last line: at 100% when the whole input was scored (``complete``)."""
        if not self.enabled:
            return
        fraction = 1.0 if complete else self.fraction
        now = time.monotonic()
        if self._rich is not None:
            rate = (rows - self.start_rows) / max(now - self.start, 1e-9)
            self._rich.update(
                self._task, completed=fraction or 0.0, rows=f"{rows:,}", rate=f"{rate:,.0f}"
            )
            self._rich.refresh()
            self._rich.stop()
        elif self.tty:
            bar = "#" * int((fraction or 0.0) * 30)
            print(
                f"\r[{bar:<30}] {self._line(rows, fraction, now)}" + " " * 20,
                file=self.stream,
                flush=True,
            )
        else:
            print(f"unireward: {self._line(rows, fraction, now)}", file=self.stream, flush=True)
