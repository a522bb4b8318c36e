"""The invariants :func:`~unireward.testing.check_reward` runs, as a table.

Each :class:`Invariant` has a name, the meaning it encodes, which tasks it applies to, the
hypothesis strategy drawing its examples, and a small check function. A check function
gets a :class:`Probe` (the reward function under test plus the task's
:class:`~unireward.testing._tasks.TaskSpec` and the options) and one drawn example, calls
the reward function, and returns a :class:`~unireward.testing.report.Violation` or None.

Check functions never raise on what the reward function does: a call that raises is
recorded, and it is ``never_raises``' business (the other invariants skip it), except
where raising is itself the violation (a ground-truth shape the function cannot read,
a call that raises only sometimes).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from . import strategies as S
from ._calls import Call, RewardCaller
from ._tasks import TaskSpec, reverse_keys
from .report import Outcome, Violation

__all__ = ["INVARIANTS", "Invariant", "Probe", "hostile_inputs"]

#: slack for comparing two rewards that must be equal or ordered
TOL = 1e-9


@dataclass
class Probe:
    """The reward function under test and what the checks need to judge it."""

    call: RewardCaller
    spec: TaskSpec
    bounds: tuple[float, float]
    top: float
    reference: RewardCaller | None = None
    tolerance: float = 1e-6
    #: the function is one of unireward's own scorers (for the quirk label)
    own: bool = False
    profile: str = "onethinker"
    _seen: dict[tuple[str, str], Call] = field(default_factory=dict, repr=False)

    def __call__(self, completion: str, truth: Any) -> Call:
        return self.call(completion, truth)

    def once(self, completion: str, truth: Any) -> Call:
        """A call made at most once per input in a run: the invariants that only look at
        one call per input (raising, bounds, the reference) share it."""
        if len(completion) > 10_000:  # adversarial text: not worth keeping in memory
            return self.call(completion, truth)
        key = (completion, repr(truth))
        if key not in self._seen:
            self._seen[key] = self.call(completion, truth)
        return self._seen[key]

    def answer(self, obj: Any, truth: Any) -> Call:
        """Score the answer ``obj`` (a task object), well formed, against the truth ``truth``
        (a task object)."""
        return self.call(S.wrap(self.spec.text(obj)), self.spec.truth(truth))


@dataclass(frozen=True)
class Invariant:
    """One invariant: what it means, where it applies, how it is searched and checked."""

    name: str
    meaning: str
    applies: Callable[[TaskSpec], bool]
    draw: Callable[[TaskSpec], Any]
    check: Callable[[Probe, Any], Violation | None]
    #: for an invariant that held: an outcome and a line to show instead of a bare pass
    remark: Callable[[Probe], tuple[Outcome, str, Violation | None]] | None = None


# -- the inputs that find the bugs ------------------------------------------------------


def _hostile_draw(spec: TaskSpec) -> Any:
    def optional(strategy: Any) -> Any:
        return st.none() if strategy is None else strategy

    return st.fixed_dictionaries(
        {
            "truth": spec.truths(),
            "answer": spec.answers(),
            "blank": st.sampled_from(S.EMPTY_TEXTS),
            "text": S.non_ascii_text(),
            "adversarial": S.adversarial_text(),
            "non_ascii_truth": optional(spec.non_ascii_truths()),
            "degenerate": optional(spec.degenerate()),
            "degenerate_truth": optional(spec.degenerate()),
        }
    )


def hostile_inputs(spec: TaskSpec, ex: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """Every input built from one drawn example: ``(what it is, completion, truth)``.

    Well-formed random and perfect answers; each damage kind applied to both; empty and
    whitespace-only completions and answers; non-ASCII answers and truths; wrong answers
    (covering, inside, elsewhere, subsets); degenerate geometry; adversarial text.
    """
    g, a = ex["truth"], ex["answer"]
    truth = spec.truth(g)
    perfect, other = spec.text(g), spec.text(a)
    seen: set[str] = set()

    def fresh(completion: str) -> bool:
        if completion in seen:
            return False
        seen.add(completion)
        return True

    items: list[tuple[str, str, Any]] = [
        ("a well-formed answer", S.wrap(other), truth),
        ("the perfect answer", S.wrap(perfect), truth),
        ("an empty completion", "", truth),
        ("a whitespace-only completion", ex["blank"], truth),
        ("an empty answer", S.wrap(""), truth),
        ("a whitespace-only answer", S.wrap(ex["blank"]), truth),
        ("a think block only", "<think>reasoning</think>", truth),
        ("an answer of non-ASCII text", S.wrap(ex["text"]), truth),
    ]
    items += _damaged(perfect, other, truth)
    items += [
        (f"non-ASCII text in the answer ({text!r})", S.wrap(text), truth)
        for text in spec.non_ascii_answers(a)
    ]
    items += [(label, S.wrap(text), truth) for label, text in spec.wrong(g)]
    items.append(("adversarial text as the completion", ex["adversarial"], truth))
    yield from (item for item in items if fresh(item[1]))
    yield from _odd_truths(spec, ex, other, truth)


def _damaged(perfect: str, other: str, truth: Any) -> list[tuple[str, str, Any]]:
    """Each damage kind applied to the perfect answer and to another answer."""
    out = []
    for kind in S.DAMAGES:
        out.append(
            (
                f"{kind} damage applied to the perfect answer",
                S.damage_completion(kind, perfect),
                truth,
            )
        )
        out.append((f"{kind} damage applied to an answer", S.damage_completion(kind, other), truth))
    return out


def _odd_truths(
    spec: TaskSpec, ex: dict[str, Any], other: str, truth: Any
) -> Iterator[tuple[str, str, Any]]:
    """Answers to truths holding non-ASCII text, and degenerate answers and truths."""
    if ex["non_ascii_truth"] is not None:
        ut = spec.truth(ex["non_ascii_truth"])
        yield "an answer to a truth with non-ASCII text", S.wrap(other), ut
        perfect = S.wrap(spec.text(ex["non_ascii_truth"]))
        yield "the perfect answer to a truth with non-ASCII text", perfect, ut
    if ex["degenerate"] is not None:
        degenerate = S.wrap(spec.text(ex["degenerate"]))
        yield "a degenerate answer (zero length or area)", degenerate, truth
        dt = spec.truth(ex["degenerate_truth"])
        yield "an answer to a degenerate truth", S.wrap(other), dt
        perfect = S.wrap(spec.text(ex["degenerate_truth"]))
        yield "the perfect answer to a degenerate truth", perfect, dt


def _apart(x: Any, y: Any) -> bool:
    """Whether two readings are both numbers, further apart than the tolerance."""
    return bool(x.number and y.number and abs(x.value - y.value) > TOL)


def _everywhere(spec: TaskSpec) -> bool:
    return True


# -- never_raises, finite_and_bounded, matches_reference ------------------------------


def check_never_raises(p: Probe, ex: dict[str, Any]) -> Violation | None:
    for label, completion, truth in hostile_inputs(p.spec, ex):
        c = p.once(completion, truth)
        if c.raised:
            return Violation(f"raised on {label}", (c,))
    return None


def check_finite_and_bounded(p: Probe, ex: dict[str, Any]) -> Violation | None:
    lo, hi = p.bounds
    for label, completion, truth in hostile_inputs(p.spec, ex):
        c = p.once(completion, truth)
        if c.raised:
            continue
        if c.returned is not None:
            return Violation(f"{c.returned}, on {label}", (c,))
        if c.value is None:  # None under TRL's signature: "cannot score"
            continue
        if not math.isfinite(c.value):
            return Violation(f"reward {c.value} is not finite on {label}", (c,))
        if not lo - TOL <= c.value <= hi + TOL:
            return Violation(f"reward {c.value} is outside [{lo}, {hi}] on {label}", (c,))
    return None


def check_matches_reference(p: Probe, ex: dict[str, Any]) -> Violation | None:
    assert p.reference is not None
    for label, completion, truth in hostile_inputs(p.spec, ex):
        ours, ref = p.once(completion, truth), p.reference(completion, truth)
        if not ours.same_as(ref, p.tolerance):
            return Violation(
                f"{ours.phrase()} where the reference {ref.phrase()}, on {label}", (ours,)
            )
    return None


# -- deterministic ----------------------------------------------------------------------


def _draw_three(spec: TaskSpec) -> Any:
    return st.tuples(spec.truths(), spec.answers(), spec.answers())


def check_deterministic(p: Probe, ex: tuple[Any, Any, Any]) -> Violation | None:
    g, a, b = ex
    truth = p.spec.truth(g)
    inputs = {
        "x": S.wrap(p.spec.text(a)),
        "p": S.wrap(p.spec.text(g)),
        "y": S.wrap(p.spec.text(b)),
        "e": "",
    }
    first: dict[str, tuple[int, Call]] = {}
    for i, key in enumerate("xpyexyppex"):
        c = p(inputs[key], truth)
        if key not in first:
            first[key] = (i, c)
            continue
        j, before = first[key]
        if not before.same_as(c, 0.0):
            return Violation(
                f"the same input {before.phrase()}, then {c.phrase()} "
                f"({i - j - 1} other calls in between)",
                (before, c),
            )
    return None


# -- perfect_is_max, only_truth_is_max --------------------------------------------------


def _draw_two(spec: TaskSpec) -> Any:
    return st.tuples(spec.truths(), spec.answers())


def check_perfect_is_max(p: Probe, ex: tuple[Any, Any]) -> Violation | None:
    g, a = ex
    before = p.answer(a, g)
    for label, text in p.spec.equivalents(g):
        c = p(S.wrap(text), p.spec.truth(g))
        if c.number and abs(c.value - p.top) > TOL:  # type: ignore[operator]
            if before.completion == c.completion:
                return Violation(f"{label} scored {c.value}, not the maximum {p.top}", (c,))
            return Violation(
                f"{label} scored {c.value}, not the maximum {p.top} "
                "(scored right after call 1, another answer to the same truth)",
                (before, c),
            )
    return None


def check_only_truth_is_max(p: Probe, ex: Any) -> Violation | None:
    g, blank = ex
    truth = p.spec.truth(g)
    perfect = p(S.wrap(p.spec.text(g)), truth)
    if not perfect.number:
        return None
    candidates = [
        ("an empty completion", ""),
        ("a whitespace-only completion", blank),
        *((label, S.wrap(text)) for label, text in p.spec.wrong(g)),
    ]
    for label, completion in candidates:
        c = p(completion, truth)
        if c.number and c.value >= perfect.value - TOL:  # type: ignore[operator]
            return Violation(
                f"{label} scored {c.value}, not below the perfect answer's {perfect.value}",
                (perfect, c),
            )
    return None


# -- damage_never_helps ------------------------------------------------------------------


def check_damage_never_helps(p: Probe, ex: tuple[Any, Any]) -> Violation | None:
    g, a = ex
    truth = p.spec.truth(g)
    for what, obj in (("the perfect answer", g), ("an answer", a)):
        text = p.spec.text(obj)
        base = p(S.wrap(text), truth)
        if not base.number:
            continue
        for kind in p.spec.harmful_damage():
            completion = S.damage_completion(kind, text)
            if completion == S.wrap(text):
                continue
            c = p(completion, truth)
            if c.number and c.value > base.value + TOL:  # type: ignore[operator]
                return Violation(
                    f"{kind} damage applied to {what} scored {c.value}, above the undamaged "
                    f"{base.value}",
                    (base, c),
                )
    return None


# -- geometry: symmetric, monotone_in_shift, shrinking_lowers, swapped_ends -----------


def _geometric(spec: TaskSpec) -> bool:
    return spec.geometric


def check_symmetric(p: Probe, ex: tuple[Any, Any]) -> Violation | None:
    a, g = ex
    forward, backward = p.answer(a, g), p.answer(g, a)
    if _apart(forward, backward):
        return Violation(
            f"swapping prediction and truth changed the reward from {forward.value} to "
            f"{backward.value}",
            (forward, backward),
        )
    return None


def _draw_shift(spec: TaskSpec) -> Any:
    return st.tuples(
        spec.truths(), st.integers(0, 400), st.integers(0, 400), st.sampled_from((1, -1))
    )


def check_monotone_in_shift(p: Probe, ex: tuple[Any, int, int, int]) -> Violation | None:
    g, d1, d2, sign = ex
    near_d, far_d = sorted((d1, d2))
    near = p.answer(p.spec.shift(g, sign * near_d), g)
    far = p.answer(p.spec.shift(g, sign * far_d), g)
    if (
        near.number
        and far.number
        and (
            far.value > near.value + TOL  # type: ignore[operator]
        )
    ):
        return Violation(
            f"moving the perfect answer by {sign * far_d} scored {far.value}, above "
            f"{near.value} for a move by {sign * near_d}",
            (near, far),
        )
    return None


def _draw_shrink(spec: TaskSpec) -> Any:
    frac = st.integers(1, 8).map(lambda k: k / 20)
    return st.tuples(spec.truths(), frac, frac)


def check_shrinking_lowers(p: Probe, ex: tuple[Any, float, float]) -> Violation | None:
    g, f_outer, f_inner = ex
    outer = p.spec.shrink(g, f_outer)
    inner = p.spec.shrink(outer, f_inner)
    chain = [p.answer(g, g), p.answer(outer, g), p.answer(inner, g)]
    for bigger, smaller in zip(chain, chain[1:], strict=False):
        if (
            bigger.number
            and smaller.number
            and (
                smaller.value >= bigger.value - TOL  # type: ignore[operator]
            )
        ):
            return Violation(
                f"a prediction shrunk inside the truth scored {smaller.value}, not below "
                f"{bigger.value} for the larger one",
                (bigger, smaller),
            )
    return None


def _swappable(spec: TaskSpec) -> bool:
    return spec.swappable


def check_swapped_ends(p: Probe, ex: tuple[Any, Any]) -> Violation | None:
    g, a = ex
    ordered, swapped = p.answer(a, g), p.answer(p.spec.swap(a), g)
    if (
        ordered.number
        and swapped.number
        and (
            swapped.value > ordered.value + TOL  # type: ignore[operator]
        )
    ):
        return Violation(
            f"the answer with swapped ends scored {swapped.value}, above {ordered.value} "
            "for the same answer in order",
            (ordered, swapped),
        )
    return None


_QUIRK = "swapped ends score accuracy 0 while the structure reward stays 0.5 (reference quirk)"


def remark_swapped_ends(p: Probe) -> tuple[Outcome, str, Violation | None]:
    """How the function treats a swapped perfect answer: re-ordered, or scored as wrong
    (the reference's documented quirk, labelled so for unireward's own scorers only)."""
    g = p.spec.example
    perfect, swapped = p.answer(g, g), p.answer(p.spec.swap(g), g)
    if not (perfect.number and swapped.number):
        return "pass", "", None
    if abs(perfect.value - swapped.value) <= TOL:  # type: ignore[operator]
        return "pass", "swapped ends are re-ordered", None
    r = swapped.result
    if (
        p.own
        and p.profile == "onethinker"
        and r is not None
        and r.accuracy == 0.0
        and r.structure == 0.5
    ):
        return "documented", _QUIRK, Violation("swapped ends", (swapped,))
    return (
        "pass",
        f"a swapped perfect answer scores {swapped.value} (as a wrong answer), never above",
        None,
    )


# -- frames and points: dropping_lowers, point_permutation ------------------------------


def _droppable(spec: TaskSpec) -> bool:
    return spec.droppable


def check_dropping_lowers(p: Probe, g: Any) -> Violation | None:
    perfect = p.answer(g, g)
    if not perfect.number:
        return None
    for label, chain in p.spec.drop_chains(g):
        prev = perfect
        for obj in chain:
            c = p.answer(obj, g)
            if c.number and c.value >= prev.value - TOL:  # type: ignore[operator]
                return Violation(f"{label}: scored {c.value}, not below {prev.value}", (prev, c))
            prev = c if c.number else prev
    if p.spec.missing_frame_is_wrong and len(g["boxes"]) > 1:
        last = list(g["boxes"])[-1]
        dropped = {**g, "boxes": {k: v for k, v in g["boxes"].items() if k != last}}
        elsewhere = {**g, "boxes": {**g["boxes"], last: [v + 5000 for v in g["boxes"][last]]}}
        c_drop, c_wrong = p.answer(dropped, g), p.answer(elsewhere, g)
        if (
            c_drop.number
            and c_wrong.number
            and (
                c_drop.value > c_wrong.value + TOL  # type: ignore[operator]
            )
        ):
            return Violation(
                f"dropping a frame scored {c_drop.value}, above {c_wrong.value} for answering "
                "that frame with a box elsewhere (a missing frame counts as a wrong one)",
                (c_wrong, c_drop),
            )
    return None


def _has_points(spec: TaskSpec) -> bool:
    return spec.has_points


def _draw_permutation(spec: TaskSpec) -> Any:
    perm = st.permutations([0, 1, 2])
    return st.tuples(spec.answers(), spec.truths(), perm, perm)


def check_point_permutation(
    p: Probe, ex: tuple[Any, Any, list[int], list[int]]
) -> Violation | None:
    a, g, pos, neg = ex
    other = {
        **a,
        "positive_points": [a["positive_points"][i] for i in pos],
        "negative_points": [a["negative_points"][i] for i in neg],
    }
    c1, c2 = p.answer(a, g), p.answer(other, g)
    if _apart(c1, c2):
        return Violation(
            f"reordering the points changed the reward from {c1.value} to {c2.value}", (c1, c2)
        )
    return None


# -- formatting: key_order, whitespace_in_tags, ground_truth_shapes ---------------------


def _structured(spec: TaskSpec) -> bool:
    return spec.structured


def check_key_order(p: Probe, ex: tuple[Any, Any]) -> Violation | None:
    g, a = ex
    for obj in (a, g):
        c1 = p.answer(obj, g)
        c2 = p(S.wrap(json.dumps(reverse_keys(obj))), p.spec.truth(g))
        if _apart(c1, c2):
            return Violation(
                f"reversing the order of the answer's keys changed the reward from {c1.value} "
                f"to {c2.value}",
                (c1, c2),
            )
    return None


_LAYOUTS = (
    ("spaces inside the tags", "< think >reasoning< / think >< answer >{}< / answer >"),
    (
        "new lines between and inside the blocks",
        "<think>\nreasoning\n</think>\n\n<answer>\n{}\n</answer>\n",
    ),
    ("spaces around the answer", "<think>reasoning</think> <answer>  {}  </answer>"),
)


def check_whitespace_in_tags(p: Probe, ex: tuple[Any, Any]) -> Violation | None:
    g, a = ex
    truth = p.spec.truth(g)
    for obj in (g, a):
        text = p.spec.text(obj)
        if any(ch in text for ch in "<>/"):  # tag normalisation also rewrites the answer itself
            continue
        base = p(S.wrap(text), truth)
        for label, layout in _LAYOUTS:
            c = p(layout.format(text), truth)
            if not base.same_as(c, TOL) and not (base.raised or c.raised):
                return Violation(
                    f"{label} changed the reward from {base.observed()} to {c.observed()}",
                    (base, c),
                )
    return None


def check_ground_truth_shapes(p: Probe, ex: tuple[Any, Any]) -> Violation | None:
    g, a = ex
    for obj in (g, a):
        completion = S.wrap(p.spec.text(obj))
        base = p(completion, p.spec.truth(g))
        if base.raised:
            continue
        for label, shape in p.spec.truth_shapes(g):
            c = p(completion, shape)
            if not base.same_as(c, TOL):
                plain = "JSON text" if p.spec.structured else "plain text"
                return Violation(
                    f"the truth {label} {c.phrase()}, as {plain} it {base.phrase()}", (base, c)
                )
    return None


def _draw_only_truth(spec: TaskSpec) -> Any:
    return st.tuples(spec.truths(), st.sampled_from(S.EMPTY_TEXTS))


def _draw_hostile(spec: TaskSpec) -> Any:
    return _hostile_draw(spec)


#: Every invariant, in the order they run and are reported.
INVARIANTS: tuple[Invariant, ...] = (
    Invariant(
        "never_raises",
        "no input raises: damaged, empty, non-ASCII, degenerate or adversarial",
        _everywhere,
        _draw_hostile,
        check_never_raises,
    ),
    Invariant(
        "finite_and_bounded",
        "every input scores a finite reward within the bounds (None only "
        "where the signature allows it)",
        _everywhere,
        _draw_hostile,
        check_finite_and_bounded,
    ),
    Invariant(
        "deterministic",
        "the same input scores the same, whatever was scored before",
        _everywhere,
        _draw_three,
        check_deterministic,
    ),
    Invariant(
        "perfect_is_max",
        "the truth (or an equivalent answer) scores the maximum",
        _everywhere,
        _draw_two,
        check_perfect_is_max,
    ),
    Invariant(
        "only_truth_is_max",
        "empty, garbage, covering, inside, subset or other answers score below the perfect answer",
        _everywhere,
        _draw_only_truth,
        check_only_truth_is_max,
    ),
    Invariant(
        "damage_never_helps",
        "breaking the format or the JSON of an answer never raises its reward",
        _everywhere,
        _draw_two,
        check_damage_never_helps,
    ),
    Invariant(
        "symmetric",
        "swapping prediction and truth does not change an IoU-family reward",
        _geometric,
        lambda s: s.same_shape_pairs(),
        check_symmetric,
    ),
    Invariant(
        "monotone_in_shift",
        "moving the perfect answer further away never raises the reward",
        _geometric,
        _draw_shift,
        check_monotone_in_shift,
    ),
    Invariant(
        "shrinking_lowers",
        "a prediction shrunk inside the truth scores lower, and lower again when shrunk further",
        _geometric,
        _draw_shrink,
        check_shrinking_lowers,
    ),
    Invariant(
        "dropping_lowers",
        "dropping frames or points from the perfect answer lowers the reward",
        _droppable,
        lambda s: s.truths(),
        check_dropping_lowers,
    ),
    Invariant(
        "point_permutation",
        "the order of the points does not matter",
        _has_points,
        _draw_permutation,
        check_point_permutation,
    ),
    Invariant(
        "key_order",
        "the order of keys in a JSON answer does not matter",
        _structured,
        _draw_two,
        check_key_order,
    ),
    Invariant(
        "whitespace_in_tags",
        "spaces and new lines in and around the tags do not matter",
        _everywhere,
        _draw_two,
        check_whitespace_in_tags,
    ),
    Invariant(
        "ground_truth_shapes",
        "the truth as text, wrapped in <answer> tags, as a dict or as "
        "re-formatted JSON scores alike",
        _everywhere,
        _draw_two,
        check_ground_truth_shapes,
    ),
    Invariant(
        "swapped_ends",
        "an interval or box with swapped ends never scores above the same answer in order",
        _swappable,
        _draw_two,
        check_swapped_ends,
        remark_swapped_ends,
    ),
)

#: The differential invariant, run when a reference is given.
MATCHES_REFERENCE = Invariant(
    "matches_reference",
    "every generated input scores like the reference, within the tolerance",
    _everywhere,
    _draw_hostile,
    check_matches_reference,
)
