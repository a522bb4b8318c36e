"""What the checker knows about each task: one object per task family.

A :class:`TaskSpec` draws ground truths and answers, renders them as answer text, and
builds the answers the invariants need: wrong answers that must score below the perfect
one, non-ASCII and degenerate inputs, and (for the geometric tasks) moved, shrunk,
enlarged, swapped and thinned-out copies of an answer.

Answers and truths are plain Python objects (a dict for the JSON tasks, a string or a
tuple otherwise); :meth:`TaskSpec.text` turns one into the text a model writes and
:meth:`TaskSpec.truth` into the ground truth handed to the reward function.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from ..errors import UnknownTaskError
from . import strategies as S

__all__ = ["TaskSpec", "task_spec"]

Strategy = Any  # hypothesis' SearchStrategy (not generic in every hypothesis release)


class TaskSpec:
    """The checker's knowledge of one task. Subclasses fill in what differs."""

    #: the task name handed to the reward function
    name: str = ""
    #: JSON answers (key order, truth given as a dict, JSON damage)
    structured: bool = False
    #: IoU-family accuracy (symmetry, moving away, shrinking, swapped ends)
    geometric: bool = False
    #: the answer has intervals or boxes whose ends can be swapped
    swappable: bool = False
    #: a missing frame counts like a wrong frame (tracking: mean over the truth's frames)
    missing_frame_is_wrong: bool = False
    #: answers have frames or points that can be dropped
    droppable: bool = False
    #: answers have point sets whose order must not matter
    has_points: bool = False
    #: a small, readable truth (for the fixed examples of a report)
    example: Any = None
    #: the data type used when the caller gives none
    default_data_type: str | None = None

    def __init__(self, name: str, data_type: str | None = None) -> None:
        self.name = name
        self.data_type = data_type

    # -- drawing -----------------------------------------------------------------------
    def truths(self) -> Strategy:
        raise NotImplementedError

    def answers(self) -> Strategy:
        """Well-formed answers (by default drawn like the truths)."""
        return self.truths()

    def same_shape_pairs(self) -> Strategy:
        """``(answer, truth)`` pairs with the same frames (for symmetry)."""
        return st.tuples(self.answers(), self.truths())

    def non_ascii_truths(self) -> Strategy | None:
        """Truths holding non-ASCII text, or None where the task's truths cannot."""
        return None

    def degenerate(self) -> Strategy | None:
        """Degenerate answers (zero-length intervals, zero-area boxes), or None."""
        return None

    # -- rendering ---------------------------------------------------------------------
    def text(self, obj: Any) -> str:
        """The answer text a model writes for ``obj``."""
        return json.dumps(obj, ensure_ascii=False) if self.structured else str(obj)

    def truth(self, obj: Any) -> Any:
        """The ground truth handed to the reward function (JSON text for JSON tasks)."""
        return self.text(obj)

    def truth_shapes(self, obj: Any) -> list[tuple[str, Any]]:
        """Other ways to write the same ground truth."""
        shapes: list[tuple[str, Any]] = [
            ("wrapped in <answer> tags", f"<answer>{self.truth(obj)}</answer>")
        ]
        if self.structured:
            shapes += [
                ("as a dict", copy.deepcopy(obj)),
                ("as indented JSON", json.dumps(obj, indent=2)),
                ("as JSON with keys reversed", json.dumps(reverse_keys(obj))),
            ]
        return shapes

    # -- answers the invariants need ---------------------------------------------------
    def non_ascii_answers(self, answer: Any) -> list[str]:
        """Answer texts holding non-ASCII characters."""
        return list(S.NON_ASCII_TEXTS[:6]) + [f"{self.text(answer)} {S.NON_ASCII_TEXTS[0]}"]

    def wrong(self, truth: Any) -> list[tuple[str, str]]:
        """``(label, answer text)`` pairs that must score below the perfect answer."""
        return [
            ("an empty answer", ""),
            ("a whitespace-only answer", " \n "),
            ("an answer of words", "I cannot tell"),
        ]

    def equivalents(self, truth: Any) -> list[tuple[str, str]]:
        """``(label, answer text)`` pairs that are the truth (they must score the maximum)."""
        out = [("the perfect answer", self.text(truth))]
        if self.structured:
            out.append(("the perfect answer with keys reversed", json.dumps(reverse_keys(truth))))
        return out

    def harmful_damage(self) -> tuple[str, ...]:
        """Damage kinds that can never improve a reward (they break the format or the JSON)."""
        tags = ("missing_tags", "no_think", "text_before", "text_after")
        if not self.structured:
            return tags
        return (
            *tags,
            "unclosed_answer",
            "uppercase_tags",
            "code_fence",
            "single_quotes",
            "truncated",
            "nan",
            "infinity",
            "huge_number",
            "wrong_keys",
        )

    # -- geometry (geometric tasks only) ----------------------------------------------
    def shift(self, obj: Any, d: float) -> Any:
        return _map_geometry(
            obj,
            interval=lambda s, e: [s + d, e + d],
            box=lambda b: [v + d for v in b],
            point=lambda p: [p[0] + d, p[1] + d],
            keyframe=lambda t: t + d,
        )

    def shrink(self, obj: Any, f: float) -> Any:
        """Every interval and box shrunk by ``f`` of its size on each side (inside itself)."""

        def box(b: list[float]) -> list[float]:
            w, h = b[2] - b[0], b[3] - b[1]
            return [b[0] + f * w, b[1] + f * h, b[2] - f * w, b[3] - f * h]

        return _map_geometry(obj, interval=lambda s, e: [s + f * (e - s), e - f * (e - s)], box=box)

    def enlarge(self, obj: Any, margin: float) -> Any:
        """Every interval and box grown by ``margin`` on each side (covering itself)."""
        return _map_geometry(
            obj,
            interval=lambda s, e: [s - margin, e + margin],
            box=lambda b: [b[0] - margin, b[1] - margin, b[2] + margin, b[3] + margin],
        )

    def swap(self, obj: Any) -> Any:
        return _map_geometry(
            obj, interval=lambda s, e: [e, s], box=lambda b: [b[2], b[3], b[0], b[1]]
        )

    def drop_chains(self, obj: Any) -> list[tuple[str, list[Any]]]:
        """Chains of answers, each with fewer frames or points than the one before."""
        return []


def reverse_keys(value: Any) -> Any:
    """``value`` with the keys of every JSON object in reverse order."""
    if isinstance(value, dict):
        return {k: reverse_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reverse_keys(v) for v in value]
    return value


def _map_geometry(
    obj: dict[str, Any],
    *,
    interval: Callable[[float, float], list[float]] | None = None,
    box: Callable[[list[float]], list[float]] | None = None,
    point: Callable[[list[float]], list[float]] | None = None,
    keyframe: Callable[[float], float] | None = None,
) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    t = out.get("time")
    if isinstance(t, list) and interval is not None:
        out["time"] = interval(*t)
    elif isinstance(t, (int, float)) and keyframe is not None:
        out["time"] = keyframe(t)
    b = out.get("boxes")
    if isinstance(b, list) and box is not None:
        out["boxes"] = box(b)
    elif isinstance(b, dict) and box is not None:
        out["boxes"] = {k: box(v) for k, v in b.items()}
    if point is not None:
        for key in ("positive_points", "negative_points"):
            if key in out:
                out[key] = [point(p) for p in out[key]]
    return out


_STRUCTURED_EXTRA = "label"


class _JSONSpec(TaskSpec):
    structured = True
    geometric = True

    def non_ascii_truths(self) -> Strategy | None:
        return st.tuples(self.truths(), S.non_ascii_text()).map(
            lambda p: {**p[0], _STRUCTURED_EXTRA: p[1]}
        )

    def non_ascii_answers(self, answer: Any) -> list[str]:
        labelled = {**answer, _STRUCTURED_EXTRA: S.NON_ASCII_TEXTS[0]}
        return [
            *super().non_ascii_answers(answer),
            self.text(labelled),
            self.text(answer).replace("[", "[ \u3000", 1),
        ]

    def wrong(self, truth: Any) -> list[tuple[str, str]]:
        return [
            *super().wrong(truth),
            ("an empty JSON object", "{}"),
            ("an answer covering the truth", self.text(self.enlarge(truth, 37))),
            ("an answer inside the truth", self.text(self.shrink(truth, 0.25))),
            ("an answer elsewhere", self.text(self.shift(truth, 5000))),
        ]


class TemporalSpec(_JSONSpec):
    swappable = True
    example = {"time": [10.0, 20.0]}

    def truths(self) -> Strategy:
        return S.temporal_answers()

    def degenerate(self) -> Strategy | None:
        return S.degenerate_intervals()

    def wrong(self, truth: Any) -> list[tuple[str, str]]:
        whole = {"time": [0, max(1e4, truth["time"][1] * 10)]}
        return [*super().wrong(truth), ("the whole video", self.text(whole))]


class SpatialSpec(_JSONSpec):
    swappable = True
    example = {"boxes": [100, 100, 300, 300]}

    def truths(self) -> Strategy:
        return S.boxes()

    def degenerate(self) -> Strategy | None:
        return S.degenerate_boxes()

    def wrong(self, truth: Any) -> list[tuple[str, str]]:
        whole = {"boxes": [-1, -1, 1001, 1001]}
        return [*super().wrong(truth), ("the whole image", self.text(whole))]


def _rekey(answer: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    """``answer`` with its frames renamed to the truth's frames (same number of frames)."""
    boxes = list(answer["boxes"].values())
    keys = list(truth["boxes"])
    return {**answer, "boxes": {k: boxes[i % len(boxes)] for i, k in enumerate(keys)}}


class _FramesSpec(_JSONSpec):
    droppable = True

    def same_shape_pairs(self) -> Strategy:
        return st.tuples(self.answers(), self.truths()).map(lambda p: (_rekey(p[0], p[1]), p[1]))

    def degenerate(self) -> Strategy | None:
        return st.tuples(self.truths(), S.degenerate_boxes()).map(
            lambda p: {**p[0], "boxes": {k: p[1]["boxes"] for k in p[0]["boxes"]}}
        )

    def drop_chains(self, obj: Any) -> list[tuple[str, list[Any]]]:
        keys = list(obj["boxes"])
        chain = [
            {**obj, "boxes": {k: obj["boxes"][k] for k in keys[: len(keys) - n]}}
            for n in range(1, len(keys) + 1)
        ]
        return [("frames dropped from the end, one at a time", chain)]

    def wrong(self, truth: Any) -> list[tuple[str, str]]:
        keys = list(truth["boxes"])
        subset = {**truth, "boxes": {k: truth["boxes"][k] for k in keys[:-1]}}
        return [*super().wrong(truth), ("a subset of the truth's frames", self.text(subset))]


class TrackingSpec(_FramesSpec):
    missing_frame_is_wrong = True

    def truths(self) -> Strategy:
        return S.trajectories()


class SpatioTemporalSpec(_FramesSpec):
    def truths(self) -> Strategy:
        return st.tuples(S.temporal_answers(), S.trajectories(4)).map(lambda p: {**p[0], **p[1]})


class SegmentationSpec(_JSONSpec):
    droppable = True
    has_points = True
    default_data_type = "image"

    def truths(self) -> Strategy:
        return S.segmentation_answers(self.data_type or "image")

    def degenerate(self) -> Strategy | None:
        def flatten(p: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
            obj, box = p
            same = [obj["positive_points"][0]] * 3
            return {**obj, "boxes": box["boxes"], "positive_points": same, "negative_points": same}

        return st.tuples(self.truths(), S.degenerate_boxes()).map(flatten)

    def drop_chains(self, obj: Any) -> list[tuple[str, list[Any]]]:
        return [
            (f"a point dropped from {key}", [{**obj, key: obj[key][:-1]}])
            for key in ("positive_points", "negative_points")
        ]

    def wrong(self, truth: Any) -> list[tuple[str, str]]:
        fewer = {**truth, "positive_points": truth["positive_points"][:2]}
        return [*super().wrong(truth), ("a subset of the truth's points", self.text(fewer))]


class ChoiceSpec(TaskSpec):
    def truths(self) -> Strategy:
        return S.choice_answers()

    def wrong(self, truth: Any) -> list[tuple[str, str]]:
        other = "B" if truth == "A" else "A"
        return [
            *super().wrong(truth),
            ("another option", other),
            ("every option", "A, B, C, D, E, F, G, H"),
            ("two options", f"{truth}, {other}"),
        ]


class NumericalSpec(TaskSpec):
    def truths(self) -> Strategy:
        return S.numbers()

    def wrong(self, truth: Any) -> list[tuple[str, str]]:
        return [*super().wrong(truth), ("another number", f"{float(truth) + 1:.2f}")]


class RegressionSpec(NumericalSpec):
    def wrong(self, truth: Any) -> list[tuple[str, str]]:
        g = float(truth)
        return [
            *TaskSpec.wrong(self, truth),
            ("a number twice as far as the truth is from 0", f"{g + abs(g) + 1:.2f}"),
        ]


class MathSpec(TaskSpec):
    def truths(self) -> Strategy:
        return S.math_expressions()

    def wrong(self, truth: Any) -> list[tuple[str, str]]:
        inner = truth.strip("$")
        plus = str(int(inner) + 1) if inner.isdigit() else f"${inner}+1$"
        return [*super().wrong(truth), ("the answer plus one", plus)]

    def non_ascii_answers(self, answer: Any) -> list[str]:
        return [*super().non_ascii_answers(answer), "½", "√2", "π"]


class TextSpec(TaskSpec):
    #: ROUGE-2 needs two words: a one-word truth cannot score the maximum
    min_words = 1

    def truths(self) -> Strategy:
        if self.min_words == 1:
            return S.ocr_strings()
        return st.tuples(S.ocr_strings(), S.ocr_strings()).map(" ".join)

    def non_ascii_truths(self) -> Strategy | None:
        return st.lists(
            S.non_ascii_text().filter(str.strip), min_size=self.min_words, max_size=self.min_words
        ).map(" ".join)

    def wrong(self, truth: Any) -> list[tuple[str, str]]:
        words = truth.split()
        out = [*super().wrong(truth), ("the truth with an extra word", f"{truth} qqqq")]
        if len(words) > 1:
            out.append(("the truth missing a word", " ".join(words[1:])))
        return out


class RougeSpec(TextSpec):
    min_words = 2


def _spec_class(ref: Any) -> type[TaskSpec] | None:
    """A scorer's :attr:`~unireward.TaskScorer.check_spec`: the class, or ``"module:Class"``."""
    if ref is None or isinstance(ref, type):
        return ref
    module, _, qualname = str(ref).partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[no-any-return]


def task_spec(task: str, data_type: str | None = None) -> TaskSpec:
    """The :class:`TaskSpec` of a task: the one its registered scorer names as
    :attr:`~unireward.TaskScorer.check_spec` (case and ``_`` do not matter)."""
    from ..registry import get_scorer, registered_tasks

    try:
        spec = _spec_class(get_scorer(task).check_spec)
    except UnknownTaskError:
        spec = None
    if spec is None:
        known = [t for t in registered_tasks() if get_scorer(t).check_spec is not None]
        raise UnknownTaskError(f"check_reward knows no task {task!r}; known: {known}")
    return spec(task, data_type if data_type is not None else spec.default_data_type)
