"""Hypothesis strategies for reward edge cases (needs ``hypothesis``: ``unireward[testing]``).

Well-formed answers per task with realistic ranges (the 0-1000 grid, seconds), completions
wrapping them in the think/answer format with controllable damage, degenerate geometry,
non-ASCII text and adversarial text. Every strategy shrinks towards small, readable
examples.

>>> from hypothesis import given
>>> @given(task_cases("temporal grounding"))
... def test_my_reward(case):
...     answer, truth = case          # answer/truth as JSON text
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import missing_extra

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover
    raise missing_extra("hypothesis", "testing") from exc

__all__ = [
    "DAMAGES",
    "EMPTY_TEXTS",
    "NON_ASCII_TEXTS",
    "adversarial_text",
    "boxes",
    "choice_answers",
    "completions",
    "damage_completion",
    "degenerate_boxes",
    "degenerate_intervals",
    "math_expressions",
    "non_ascii_text",
    "numbers",
    "ocr_strings",
    "segmentation_answers",
    "task_cases",
    "temporal_answers",
    "trajectories",
    "wrap",
]

GRID = st.integers(0, 1000)
#: seconds with one decimal (drawn as integers: much cheaper to generate and shrink than floats)
SECONDS = st.integers(0, 6000).map(lambda n: n / 10)

#: Empty and whitespace-only text (as an answer or as the whole completion).
EMPTY_TEXTS = ("", " ", "\n", "\t \n ", "\u3000")

#: Non-ASCII text a model writes: CJK, full-width digits and letters, right-to-left scripts,
#: combining marks, emoji, invisible marks.
NON_ASCII_TEXTS = (
    "狗在左边",
    "答案是 C",
    "１２.５",
    "Ｃ",
    "שלום עולם",
    "٣٫٥",
    "e\u0301te\u0301",
    "🐶 🐱",
    "\u200b1\u200b2",
    "Ω≈ç√∫",
)


def wrap(answer: str, think: str = "reasoning") -> str:
    """``answer`` in the well-formed think/answer format.

    >>> wrap("C")
    '<think>reasoning</think><answer>C</answer>'
    """
    return f"<think>{think}</think><answer>{answer}</answer>"


@st.composite
def temporal_answers(draw: Any) -> dict[str, Any]:
    """``{"time": [start, end]}`` with ``start < end`` in seconds."""
    a, b = draw(SECONDS), draw(SECONDS)
    if a == b:
        b = round(a + 1.0, 1)
    return {"time": sorted([a, b])}


@st.composite
def _box(draw: Any) -> list[int]:
    x1, x2 = sorted([draw(GRID), draw(GRID)])
    y1, y2 = sorted([draw(GRID), draw(GRID)])
    return [x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)]


def boxes() -> Any:
    """``{"boxes": [x1, y1, x2, y2]}`` on the 0-1000 grid with positive area."""
    return _box().map(lambda b: {"boxes": b})


@st.composite
def trajectories(draw: Any, max_frames: int = 8) -> dict[str, Any]:
    """``{"boxes": {"1": box, "2": box, ...}}`` (one box per second)."""
    n = draw(st.integers(1, max_frames))
    return {"boxes": {str(i + 1): draw(_box()) for i in range(n)}}


@st.composite
def segmentation_answers(draw: Any, data_type: str = "image") -> dict[str, Any]:
    """A box, 3 positive and 3 negative points (and a keyframe ``time`` for video)."""
    pts = st.lists(st.tuples(GRID, GRID).map(list), min_size=3, max_size=3)
    ans: dict[str, Any] = {
        "boxes": draw(_box()),
        "positive_points": draw(pts),
        "negative_points": draw(pts),
    }
    if data_type == "video":
        ans["time"] = draw(SECONDS)
    return ans


@st.composite
def degenerate_intervals(draw: Any) -> dict[str, Any]:
    """``{"time": [t, t]}``: a zero-length interval."""
    t = draw(SECONDS)
    return {"time": [t, t]}


@st.composite
def degenerate_boxes(draw: Any) -> dict[str, Any]:
    """``{"boxes": [...]}`` with zero area: a point, a vertical or a horizontal line."""
    x, y, w = draw(GRID), draw(GRID), draw(st.integers(0, 50))
    shape = draw(st.sampled_from(("point", "vertical", "horizontal")))
    box = {"point": [x, y, x, y], "vertical": [x, y, x, y + w], "horizontal": [x, y, x + w, y]}[
        shape
    ]
    return {"boxes": box}


def choice_answers() -> Any:
    """A single option letter."""
    return st.sampled_from("ABCDEFGH")


def numbers() -> Any:
    """Numbers as text, like a model writes them (ints and 2-decimal floats)."""
    return st.one_of(
        st.integers(-10_000, 10_000).map(str),
        st.integers(-100_000, 100_000).map(lambda n: f"{n / 100:.2f}"),
    )


def math_expressions() -> Any:
    """Small LaTeX answers: integers, fractions, square roots (in ``$...$``, the form the
    symbolic parser reads)."""
    ints = st.integers(1, 50)
    return st.one_of(
        ints.map(str),
        st.tuples(ints, ints).map(lambda t: f"\\frac{{{t[0]}}}{{{t[1]}}}"),
        ints.map(lambda n: f"$\\sqrt{{{n}}}$"),
    )


def ocr_strings() -> Any:
    """Short printable text with words."""
    word = st.text(
        st.characters(min_codepoint=65, max_codepoint=122, blacklist_characters="[]\\^_`"),
        min_size=1,
        max_size=8,
    )
    return st.lists(word, min_size=1, max_size=6).map(" ".join)


def non_ascii_text() -> Any:
    """Non-ASCII text: one of :data:`NON_ASCII_TEXTS` or arbitrary text outside ASCII."""
    return st.one_of(
        st.sampled_from(NON_ASCII_TEXTS),
        st.text(
            st.characters(min_codepoint=0x80, exclude_categories=["Cs"]), min_size=1, max_size=12
        ),
    )


_JSON_TASKS = {
    "temporal grounding": lambda: temporal_answers(),
    "spatial grounding": boxes,
    "tracking": lambda: trajectories(),
    "segmentation": lambda: segmentation_answers("image"),
}


def task_cases(task: str, data_type: str | None = None) -> Any:
    """``(answer_text, ground_truth_text)`` pairs for a task: a random answer and truth."""
    t = task.lower()
    if t == "segmentation":
        s = segmentation_answers(data_type or "image")
        return st.tuples(s, s).map(lambda p: (json.dumps(p[0]), json.dumps(p[1])))
    if t in _JSON_TASKS:
        s = _JSON_TASKS[t]()
        return st.tuples(s, s).map(lambda p: (json.dumps(p[0]), json.dumps(p[1])))
    if t == "spatial-temporal grounding":
        s = st.tuples(temporal_answers(), trajectories(4)).map(lambda p: {**p[0], **p[1]})
        return st.tuples(s, s).map(lambda p: (json.dumps(p[0]), json.dumps(p[1])))
    simple = {
        "multiple choice": choice_answers(),
        "numerical": numbers(),
        "regression": numbers(),
        "math": math_expressions(),
        "ocr": ocr_strings(),
        "open-ended": ocr_strings(),
        "captioning": ocr_strings(),
    }
    if t not in simple:
        raise ValueError(f"no strategy for task {task!r}")
    return st.tuples(simple[t], simple[t])


#: The kinds of damage :func:`completions` can apply.
DAMAGES = (
    "missing_tags",
    "no_think",
    "duplicated_answer",
    "spaces_in_tags",
    "text_before",
    "text_after",
    "nested_tags",
    "code_fence",
    "single_quotes",
    "truncated",
    "nan",
    "infinity",
    "boolean",
    "huge_number",
    "swapped",
    "wrong_keys",
    "extra_keys",
    "unclosed_answer",
    "uppercase_tags",
)


def _damage_json(kind: str, answer: str) -> str:
    try:
        obj = json.loads(answer)
    except ValueError:
        return answer
    if not isinstance(obj, dict):
        return answer
    key = next(iter(obj), None)
    if key is None:
        return answer
    val = obj[key]
    if kind == "swapped" and isinstance(val, list) and len(val) in (2, 4):
        obj[key] = val[len(val) // 2 :] + val[: len(val) // 2]
    elif kind == "wrong_keys":
        obj = {key + "_": val}
    elif kind == "extra_keys":
        obj["confidence"] = 0.9
    elif (
        kind in ("nan", "infinity", "huge_number", "boolean")
        and isinstance(val, list)
        and val
        and not isinstance(val[0], list)
    ):
        repl = {"nan": "NaN", "infinity": "Infinity", "huge_number": "1e309", "boolean": "true"}[
            kind
        ]
        return json.dumps(obj).replace(json.dumps(val[0]), repl, 1)
    else:
        return answer
    return json.dumps(obj)


def damage_completion(kind: str, answer: str) -> str:
    """Wrap ``answer`` in the think/answer format with one kind of damage.

    >>> damage_completion("duplicated_answer", "C")
    '<think>reasoning</think><answer>C</answer><answer>C</answer>'
    """
    think = "<think>reasoning</think>"
    if kind == "missing_tags":
        return answer
    if kind == "no_think":
        return f"<answer>{answer}</answer>"
    if kind == "duplicated_answer":
        return f"{think}<answer>{answer}</answer><answer>{answer}</answer>"
    if kind == "spaces_in_tags":
        return f"< think >reasoning< / think > < answer >{answer}< / answer >"
    if kind == "text_before":
        return f"Sure! {think}<answer>{answer}</answer>"
    if kind == "text_after":
        return f"{think}<answer>{answer}</answer> Hope this helps."
    if kind == "nested_tags":
        return f"<think><think>x</think><answer>{answer}</answer></think><answer>{answer}</answer>"
    if kind == "code_fence":
        return f"{think}<answer>```json\n{answer}\n```</answer>"
    if kind == "single_quotes":
        return f"{think}<answer>{answer.replace(chr(34), chr(39))}</answer>"
    if kind == "truncated":
        return f"{think}<answer>{answer[: max(1, len(answer) // 2)]}</answer>"
    if kind == "unclosed_answer":
        return f"{think}<answer>{answer}"
    if kind == "uppercase_tags":
        return f"<THINK>reasoning</THINK><ANSWER>{answer}</ANSWER>"
    if kind not in DAMAGES:
        raise ValueError(f"unknown damage {kind!r}; known: {DAMAGES}")
    return f"{think}<answer>{_damage_json(kind, answer)}</answer>"


def completions(answer: Any, damage: bool | tuple[str, ...] | list[str] = False) -> Any:
    """Completions around ``answer`` (a strategy or a fixed string).

    ``damage=False``: well formed; ``True``: any kind from :data:`DAMAGES`; a list: those
    kinds only.
    """
    ans = answer if isinstance(answer, st.SearchStrategy) else st.just(answer)
    if damage is False:
        return ans.map(wrap)
    kinds = DAMAGES if damage is True else tuple(damage)
    unknown = set(kinds) - set(DAMAGES)
    if unknown:
        raise ValueError(f"unknown damage {sorted(unknown)}; known: {DAMAGES}")
    return st.tuples(st.sampled_from(kinds), ans).map(lambda p: damage_completion(*p))


def adversarial_text() -> Any:
    """Hostile text: very long, deeply nested, odd unicode, LaTeX bombs."""
    return st.one_of(
        st.integers(1, 200_000).map(lambda n: "a" * n),
        st.integers(1, 5_000).map(lambda n: "[" * n + "]" * n),
        st.integers(1, 5_000).map(lambda n: "<answer>" * n),
        st.sampled_from(
            ["１２３", "\u200b1\u200b2", "\u202e123", "٣", "𝟙𝟚", "\ufeff{}", "\x00"]
        ),
        st.integers(2, 12).map(lambda n: "\\boxed{" + "9^{" * n + "9" + "}" * n + "}"),
        st.just("\\dfrac{1}{2}^{\\dfrac{1}{2}^{\\dfrac{1}{2}}}"),
        st.text(max_size=200),
    )
