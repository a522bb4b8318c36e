"""What :func:`~unireward.testing.check_reward` found, and how it is printed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ._calls import Call

__all__ = ["CheckReport", "InvariantResult", "Outcome", "Violation"]

#: ``pass``: no counter-example found; ``fail``: a violation (shown with its calls);
#: ``documented``: a known quirk of the reference, shown for unireward's own scorers only;
#: ``skipped``: the invariant does not apply to the task.
Outcome = Literal["pass", "fail", "documented", "skipped"]

_MARKS = {"pass": "PASS", "fail": "FAIL", "documented": "QUIRK", "skipped": "skip"}
_SHOWN = 240


@dataclass(frozen=True)
class Violation:
    """A counter-example: what is wrong and the calls that show it."""

    message: str
    calls: tuple[Call, ...]
    note: str = ""

    def with_note(self, note: str) -> Violation:
        return Violation(self.message, self.calls, note)


@dataclass(frozen=True)
class InvariantResult:
    """The outcome of one invariant (``violation`` holds the shrunk counter-example)."""

    name: str
    outcome: Outcome
    detail: str = ""
    violation: Violation | None = None

    @property
    def example(self) -> tuple[str, Any] | None:
        """The completion and truth of the first call of the counter-example."""
        if self.violation is None or not self.violation.calls:
            return None
        first = self.violation.calls[0]
        return first.completion, first.truth


def _shorten(value: Any) -> str:
    text = repr(value)
    if len(text) <= _SHOWN:
        return text
    return f"{text[:_SHOWN]}... ({len(text)} characters)"


def _call_lines(call: Call, prefix: str) -> list[str]:
    pad = " " * len(prefix)
    return [
        f"{prefix}completion: {_shorten(call.completion)}",
        f"{pad}truth:      {_shorten(call.truth)}",
        f"{pad}reward:     {call.observed()}",
    ]


@dataclass
class CheckReport:
    """What :func:`~unireward.testing.check_reward` found: one :class:`InvariantResult`
    per invariant, in the order they ran.

    ``ok`` is False when any invariant failed; ``failures`` lists them; ``report[name]``
    finds one; ``str(report)`` is the readable report.
    """

    task: str
    function: str = ""
    results: list[InvariantResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.outcome != "fail" for r in self.results)

    @property
    def failures(self) -> list[InvariantResult]:
        return [r for r in self.results if r.outcome == "fail"]

    def __getitem__(self, name: str) -> InvariantResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no invariant {name!r}; ran: {[r.name for r in self.results]}")

    def text(self) -> str:
        checked = [r for r in self.results if r.outcome != "skipped"]
        head = f"reward invariants for task {self.task!r}"
        if self.function:
            head += f" ({self.function})"
        lines = [f"{head}: {len(self.failures)} of {len(checked)} failed"]
        for r in self.results:
            lines.append(
                f"  [{_MARKS[r.outcome]:>5}] {r.name}" + (f": {r.detail}" if r.detail else "")
            )
            v = r.violation
            if v is None or r.outcome not in ("fail", "documented"):
                continue
            if v.note:
                lines.append(f"          ({v.note})")
            for i, call in enumerate(v.calls, 1):
                prefix = "          " + (f"call {i}: " if len(v.calls) > 1 else "")
                lines.extend(_call_lines(call, prefix))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()
