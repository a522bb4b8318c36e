"""Reusable reward invariants: :func:`check_reward` runs a property suite against any reward
callable and reports which invariants hold, with a shrunk counter-example for each violation.

Two signatures are understood (``signature="auto"`` detects them):

- unireward's: ``fn(completion, ground_truth, task, data_type=None) -> float | RewardResult``;
- TRL's: ``fn(prompts, completions, **columns) -> list[float | None]``; the ground truth is
  passed as the ``solution`` column, the task as ``problem_type`` and ``data_type``.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ConfigurationError, missing_extra

try:
    from hypothesis import HealthCheck, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample
except ImportError as exc:  # pragma: no cover
    raise missing_extra("hypothesis", "testing") from exc

from . import strategies as S

__all__ = ["CheckReport", "InvariantResult", "check_reward"]

Outcome = Literal["pass", "fail", "documented", "skipped"]
_STRUCTURED = {"temporal grounding", "spatial grounding", "tracking", "segmentation", "spatial-temporal grounding"}
_SHIFTABLE = {"temporal grounding": "time", "spatial grounding": "boxes"}


@dataclass
class InvariantResult:
    name: str
    outcome: Outcome
    detail: str = ""
    example: Any = None


@dataclass
class CheckReport:
    """What :func:`check_reward` found: one :class:`InvariantResult` per invariant."""

    task: str
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
        raise KeyError(name)

    def text(self) -> str:
        marks = {"pass": "PASS", "fail": "FAIL", "documented": "QUIRK", "skipped": "skip"}
        lines = [f"reward invariants for task {self.task!r}:"]
        for r in self.results:
            lines.append(f"  [{marks[r.outcome]:>5}] {r.name}" + (f": {r.detail}" if r.detail else ""))
            if r.example is not None and r.outcome in ("fail", "documented"):
                lines.append(f"          example: {r.example!r}"[:600])
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


class _Caller:
    """Calls a reward function with either signature; returns (total, result or None)."""

    def __init__(self, fn: Callable[..., Any], signature: str) -> None:
        self.fn = fn
        if signature == "auto":
            try:
                params = inspect.signature(fn).parameters
            except (TypeError, ValueError):
                params = {}  # type: ignore[assignment]
            signature = "trl" if "completions" in params else "score"
        if signature not in ("trl", "score"):
            raise ConfigurationError(f"signature must be 'auto', 'trl' or 'score', got {signature!r}")
        self.signature = signature

    def __call__(self, completion: str, truth: Any, task: str, data_type: str | None) -> tuple[float, Any]:
        if self.signature == "trl":
            out = self.fn(prompts=[""], completions=[completion], solution=[truth], problem_type=[task],
                          data_type=[data_type])
            value = out[0]
            return (float("nan") if value is None else float(value)), None
        out = self.fn(completion, truth, task, data_type=data_type)
        return float(out), out if hasattr(out, "structure") else None


def _settings(max_examples: int) -> settings:
    return settings(max_examples=max_examples, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), derandomize=True)


def _search(strategy: Any, violates: Callable[[Any], bool], max_examples: int) -> Any:
    """A shrunk example for which ``violates`` holds, or None."""
    try:
        return find(strategy, violates, settings=_settings(max_examples))
    except NoSuchExample:
        return None


def _wrap(answer: str) -> str:
    return f"<think>reasoning</think><answer>{answer}</answer>"


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
    verbose: bool = False,
) -> CheckReport:
    """Run the invariant suite against ``fn`` for one task; returns a :class:`CheckReport`.

    Invariants (each applied where it makes sense for the task):

    - ``finite_and_bounded``: rewards are finite and within ``bounds`` on well-formed and
      damaged completions;
    - ``deterministic``: the same input gives the same reward;
    - ``never_raises``: damaged completions and adversarial text never raise;
    - ``perfect_is_max``: the perfect answer scores ``max_reward`` (default: the upper bound);
    - ``monotone_in_shift``: moving an interval or box away from the truth never raises the
      reward;
    - ``point_permutation``: the order of segmentation points does not matter;
    - ``whitespace_in_tags``: ``< think >`` scores like ``<think>``;
    - ``ground_truth_shapes``: a JSON string, an ``<answer>``-wrapped string and a dict give
      the same reward (structured tasks);
    - ``key_order``: the order of keys in JSON answers does not matter;
    - ``swapped_ends``: a swapped interval / box. With ``profile="onethinker"`` a swapped
      answer scoring accuracy 0 with structure kept is the reference's documented quirk
      (reported as ``documented``, not a failure).
    """
    call = _Caller(fn, signature)
    t = task.lower()
    dt = data_type or ("image" if t == "segmentation" else None)
    lo, hi = bounds
    top = hi if max_reward is None else max_reward
    report = CheckReport(task)
    cases = S.task_cases(t, dt)

    def add(name: str, outcome: Outcome, detail: str = "", example: Any = None) -> None:
        report.results.append(InvariantResult(name, outcome, detail, example))

    def value(completion: str, truth: Any) -> float:
        return call(completion, truth, task, dt)[0]

    # finite and bounded (well formed and damaged)
    def out_of_bounds(x: tuple[str, tuple[str, str]]) -> bool:
        kind, (a, g) = x
        comp = S.damage_completion(kind, a) if kind != "none" else _wrap(a)
        try:
            v = value(comp, g)
        except Exception:
            return False  # raising is never_raises' business
        return not (math.isfinite(v) and lo - 1e-9 <= v <= hi + 1e-9)

    kinds = st.sampled_from(("none", *S.DAMAGES))
    ex = _search(st.tuples(kinds, cases), out_of_bounds, max_examples)
    add("finite_and_bounded", "fail" if ex is not None else "pass",
        f"a reward outside [{lo}, {hi}] or not finite" if ex is not None else "", ex)

    # deterministic
    def nondeterministic(x: tuple[str, str]) -> bool:
        a, g = x
        try:
            v1, v2 = value(_wrap(a), g), value(_wrap(a), g)
        except Exception:
            return False
        return not (v1 == v2 or (math.isnan(v1) and math.isnan(v2)))

    ex = _search(cases, nondeterministic, max_examples)
    add("deterministic", "fail" if ex is not None else "pass", "two calls disagree" if ex else "", ex)

    # never raises on damage and adversarial text
    def raises(x: tuple[str, tuple[str, str]]) -> bool:
        kind, (a, g) = x
        comp = a if kind == "adversarial" else S.damage_completion(kind, a)
        try:
            value(comp, g)
        except Exception:
            return True
        return False

    adversarial = st.tuples(st.just("adversarial"), st.tuples(S.adversarial_text(), cases.map(lambda c: c[1])))
    ex = _search(st.one_of(st.tuples(st.sampled_from(S.DAMAGES), cases), adversarial), raises, max_examples)
    detail = ""
    if ex is not None:
        kind, (a, g) = ex
        try:
            value(a if kind == "adversarial" else S.damage_completion(kind, a), g)
        except Exception as exc:  # the error, for the report
            detail = f"raised {type(exc).__name__}: {exc}"[:200]
    add("never_raises", "fail" if ex is not None else "pass", detail, ex)

    # perfect answer scores the maximum
    def not_max(x: tuple[str, str]) -> bool:
        _, g = x
        try:
            return abs(value(_wrap(g), g) - top) > 1e-6
        except Exception:
            return True

    ex = _search(cases, not_max, max_examples)
    add("perfect_is_max", "fail" if ex is not None else "pass", f"the perfect answer does not score {top}" if ex else "",
        ex)

    # monotone in shift
    if t in _SHIFTABLE:
        key = _SHIFTABLE[t]

        def grows(x: tuple[tuple[str, str], int, int]) -> bool:
            (_, g), d1, d2 = x
            obj = json.loads(g)
            near, far = sorted([d1, d2])

            def moved(d: int) -> str:
                return json.dumps({key: [v + d for v in obj[key]]})

            try:
                return value(_wrap(moved(far)), g) > value(_wrap(moved(near)), g) + 1e-9
            except Exception:
                return False

        ex = _search(st.tuples(cases, st.integers(0, 500), st.integers(0, 500)), grows, max_examples)
        add("monotone_in_shift", "fail" if ex is not None else "pass", "moving away raised the reward" if ex else "", ex)
    else:
        add("monotone_in_shift", "skipped", "no interval or box answer")

    # permutation of points
    if t == "segmentation":
        def order_matters(x: tuple[tuple[str, str], list[int]]) -> bool:
            (a, g), perm = x
            obj = json.loads(a)
            other = dict(obj, positive_points=[obj["positive_points"][i] for i in perm],
                         negative_points=[obj["negative_points"][i] for i in perm])
            try:
                return abs(value(_wrap(a), g) - value(_wrap(json.dumps(other)), g)) > 1e-9
            except Exception:
                return False

        ex = _search(st.tuples(cases, st.permutations([0, 1, 2])), order_matters, max_examples)
        add("point_permutation", "fail" if ex is not None else "pass", "point order changed the reward" if ex else "", ex)
    else:
        add("point_permutation", "skipped", "no point sets")

    # whitespace inside tags
    def spaces_matter(x: tuple[str, str]) -> bool:
        a, g = x
        spaced = f"< think >reasoning< / think >\n< answer >{a}< / answer >"
        try:
            if any(c in a for c in "<>/ "):  # normalisation also touches the answer itself
                return False
            return abs(value(_wrap(a), g) - value(spaced, g)) > 1e-9
        except Exception:
            return False

    ex = _search(cases, spaces_matter, max_examples)
    add("whitespace_in_tags", "fail" if ex is not None else "pass", "spaces inside tags changed the reward" if ex else "", ex)

    # ground truth in every accepted shape
    if t in _STRUCTURED:
        def shapes_differ(x: tuple[str, str]) -> bool:
            a, g = x
            try:
                vals = [value(_wrap(a), g), value(_wrap(a), f"<answer>{g}</answer>"), value(_wrap(a), json.loads(g))]
            except Exception:
                return True
            return max(vals) - min(vals) > 1e-9

        ex = _search(cases, shapes_differ, max_examples)
        add("ground_truth_shapes", "fail" if ex is not None else "pass",
            "JSON string, wrapped string and dict ground truths disagree (or one raised)" if ex else "", ex)
    else:
        add("ground_truth_shapes", "skipped", "plain-text ground truth")

    # key order of JSON objects
    if t in _STRUCTURED:
        def reversed_keys(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: reversed_keys(v[k]) for k in reversed(list(v))}
            return v

        def order_dependent(x: tuple[str, str]) -> bool:
            a, g = x
            try:
                return abs(value(_wrap(a), g) - value(_wrap(json.dumps(reversed_keys(json.loads(a)))), g)) > 1e-9
            except Exception:
                return False

        ex = _search(cases, order_dependent, max_examples)
        add("key_order", "fail" if ex is not None else "pass", "the order of JSON keys changed the reward" if ex else "", ex)
    else:
        add("key_order", "skipped", "plain-text answer")

    # swapped ends: the reference's documented quirk
    if t in _SHIFTABLE:
        key = _SHIFTABLE[t]
        g = json.dumps({key: [10, 20] if key == "time" else [100, 100, 300, 300]})
        swapped = json.dumps({key: [20, 10] if key == "time" else [300, 300, 100, 100]})
        try:
            v, res = call(_wrap(swapped), g, task, dt)
            perfect = call(_wrap(g), g, task, dt)[0]
        except Exception as exc:
            add("swapped_ends", "fail", f"raised {type(exc).__name__}: {exc}", swapped)
        else:
            quirk = res is not None and res.accuracy == 0.0 and res.structure == 0.5
            if abs(v - perfect) < 1e-9:
                add("swapped_ends", "pass", "swapped ends are re-ordered")
            elif profile == "onethinker" and (quirk or res is None):
                add("swapped_ends", "documented",
                    "swapped ends score accuracy 0 while the structure reward stays 0.5 (reference quirk)", swapped)
            else:
                add("swapped_ends", "fail", "a swapped answer scores below the same answer in order", swapped)
    else:
        add("swapped_ends", "skipped", "no interval or box answer")

    if verbose:
        print(report.text())
    return report
