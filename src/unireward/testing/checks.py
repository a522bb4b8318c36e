"""Reusable reward invariants: :func:`check_reward` runs the invariant table of
:mod:`unireward.testing.invariants` against any reward callable and reports which hold,
with a shrunk counter-example (completions, truths and rewards) for each violation.

Two signatures are understood (``signature="auto"`` detects them):

- unireward's: ``fn(completion, ground_truth, task, data_type=None) -> float | RewardResult``;
- TRL's: ``fn(prompts, completions, **columns) -> list[float | None]``; the ground truth is
  passed as the ``solution`` column, the task as ``problem_type`` and ``data_type``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from ..errors import ConfigurationError, missing_extra

try:
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import Flaky, NoSuchExample, Unsatisfiable
except ImportError as exc:  # pragma: no cover
    raise missing_extra("hypothesis", "testing") from exc

from ._calls import RewardCaller
from ._tasks import task_spec
from .invariants import INVARIANTS, MATCHES_REFERENCE, Invariant, Probe
from .report import CheckReport, InvariantResult, Violation

__all__ = ["CheckReport", "InvariantResult", "check_reward"]

logger = logging.getLogger("unireward.testing")

_NOT_REPRODUCED = "did not reproduce when run again: the reward is not deterministic"


def _settings(max_examples: int) -> settings:
    # no "explain" phase: it replays the shrunk example many times to say which parts
    # matter, which cost more than the whole search on segmentation answers
    return settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )


def _search(invariant: Invariant, probe: Probe, max_examples: int) -> Violation | None:
    """The shrunk violation of ``invariant``, or None when none was found.

    A reward that is not deterministic can make hypothesis' shrinking fail; the last
    violation seen is then reported with a note instead of the checker crashing.
    """
    seen: list[Violation] = []

    def violates(example: Any) -> bool:
        v = invariant.check(probe, example)
        if v is not None:
            seen[:] = [v]
        return v is not None

    try:
        example = find(invariant.draw(probe.spec), violates, settings=_settings(max_examples))
    except (NoSuchExample, Unsatisfiable):
        return None
    except Flaky:
        return seen[0].with_note(_NOT_REPRODUCED) if seen else None
    again = invariant.check(probe, example)
    if again is None:
        return seen[0].with_note(_NOT_REPRODUCED) if seen else None
    return again


def _is_unireward_scorer(fn: Callable[..., Any]) -> bool:
    """True for unireward's own scorers (functions and callable objects from its modules)."""
    target = fn if inspect.isroutine(fn) else type(fn)
    module = getattr(target, "__module__", None) or ""
    return module == "unireward" or (
        module.startswith("unireward.") and not module.startswith("unireward.testing")
    )


def _name_of(fn: Callable[..., Any]) -> str:
    target = fn if inspect.isroutine(fn) else type(fn)
    return str(
        getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(fn)
    )


def _reference_caller(
    reference: Any, task: str, data_type: str | None, profile: str
) -> RewardCaller | None:
    if reference is None or reference is False:
        return None
    if reference is True or reference == "unireward":
        from ..api import score

        def unireward_score(
            completion: str, ground_truth: Any, task: str, data_type: str | None = None
        ) -> Any:
            return score(completion, ground_truth, task, data_type=data_type, profile=profile)

        return RewardCaller(unireward_score, task, data_type, "score")
    if callable(reference):
        return RewardCaller(reference, task, data_type)
    raise ConfigurationError(
        f"reference must be True, 'unireward' or a reward callable, got {reference!r}"
    )


def _run(inv: Invariant, probe: Probe, max_examples: int) -> InvariantResult:
    """One row of the report: the invariant skipped, failed (with its shrunk example),
    remarked on, or passed."""
    if not inv.applies(probe.spec):
        return InvariantResult(inv.name, "skipped", "does not apply to this task")
    violation = _search(inv, probe, max_examples)
    if violation is not None:
        return InvariantResult(inv.name, "fail", violation.message, violation)
    if inv.remark is not None:
        outcome, detail, shown = inv.remark(probe)
        return InvariantResult(inv.name, outcome, detail, shown)
    return InvariantResult(inv.name, "pass")


def check_reward(
    fn: Callable[..., Any],
    task: str,
    *,
    data_type: str | None = None,
    signature: str = "auto",
    bounds: tuple[float, float] = (0.0, 1.5),
    max_reward: float | None = None,
    max_examples: int = 60,
    profile: str = "onethinker",
    reference: Any = None,
    tolerance: float = 1e-6,
    verbose: bool = False,
) -> CheckReport:
    """Run the invariant suite against ``fn`` for one task; returns a :class:`CheckReport`.

    Args:
        fn: the reward function (unireward's or TRL's signature, see the module docstring).
        task: the task name (``"spatial grounding"``, ``"multiple choice"``, ...).
        data_type: passed to ``fn``; ``"image"`` by default for segmentation.
        signature: ``"auto"``, ``"score"`` or ``"trl"``.
        bounds: every reward must lie in ``[low, high]`` (default ``(0.0, 1.5)``).
        max_reward: what the perfect answer must score (default: the upper bound).
        max_examples: examples hypothesis draws per invariant; the cost scales with it.
        profile: the unireward profile ``fn`` follows; with ``"onethinker"`` the reference's
            swapped-ends quirk is labelled as such, for unireward's own scorers only.
        reference: a second reward function (or ``True`` for unireward's scorer with
            ``profile``) to compare with on every generated input: the differential mode.
        tolerance: how far ``fn`` may differ from ``reference``.
        verbose: log the report at INFO level on the ``unireward.testing`` logger.

    Every invariant is searched with hypothesis (derandomised: the same run every time) and
    a violation is shrunk to a small example (see ``docs/testing.md``). A reward that is
    not deterministic is reported as a failure with its input, never as a crash.
    """
    if max_examples < 1:
        raise ConfigurationError(f"max_examples must be >= 1, got {max_examples!r}")
    lo, hi = (float(b) for b in bounds)
    if not lo < hi:
        raise ConfigurationError(f"bounds must be (low, high) with low < high, got {bounds!r}")
    spec = task_spec(task, data_type)
    probe = Probe(
        call=RewardCaller(fn, task, spec.data_type, signature),
        spec=spec,
        bounds=(lo, hi),
        top=hi if max_reward is None else float(max_reward),
        reference=_reference_caller(reference, task, spec.data_type, profile),
        tolerance=tolerance,
        own=_is_unireward_scorer(fn),
        profile=profile,
    )
    report = CheckReport(task, _name_of(fn))
    invariants = INVARIANTS + ((MATCHES_REFERENCE,) if probe.reference is not None else ())
    report.results.extend(_run(inv, probe, max_examples) for inv in invariants)
    if verbose:
        logger.info("%s", report.text())
    return report
