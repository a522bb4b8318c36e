"""Multiple choice: the PRM800K grader, checked against the spec, the reference vectors,
a table of real answers and (when installed) the published grader itself."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import unireward
from unireward._mathsafe.prm800k import grade_answer
from unireward.tasks.base import ScoreOptions
from unireward.tasks.choice import MultipleChoiceScorer

OPTIONS = ScoreOptions()

# (gold, prediction, expected): spec 3a plus answers seen in rollouts; expected values are
# what the published grader returns (checked by test_table_agrees_with_published_grader).
TABLE = [
    ("C", "C", 1),
    ("C", "c", 1),
    ("C", "(C)", 1),
    ("C", "(c)", 1),
    ("C", "[C]", 1),
    ("C", "{C}", 1),
    ("C", "\\text{C}", 1),
    ("C", "$ C $", 1),
    ("C", "$\\boxed{C}$", 1),
    ("C", "C.", 0),
    ("C", "C)", 0),
    ("C", "**C**", 0),
    ("C", "'C'", 0),
    ("C", "Option C", 0),
    ("C", "Answer: C", 0),
    ("C", "C, D", 0),
    ("C", "C: text", 0),
    ("C", "C. 40°", 0),
    ("C.", "C", 0),
    ("A", "B", 0),
    ("B", "\\textbf{B}", 1),
    ("C", " C ", 1),
    ("(C)", "C", 1),
    ("D", "\\boxed{D}", 1),
    ("A", "A)", 0),
    ("B", "b.", 0),
    ("E", "\\mathrm{E}", 1),
    ("C", "\\text{(C)}", 1),
    ("C", "$C$", 1),
    ("B", "The answer is B", 0),
    ("A", "A B", 0),
    ("A", "AB", 0),
    ("C", "\\(C\\)", 1),
    ("D", "d", 1),
    ("C", "[c]", 1),
    ("2", "2.0", 1),
    ("12", "12", 1),
]


def scored(gold: str, prediction: str) -> float:
    return (
        MultipleChoiceScorer().score(prediction, gold, data_type="image", options=OPTIONS).accuracy
    )


@pytest.mark.parametrize(("gold", "prediction", "expected"), TABLE)
def test_real_world_table(gold: str, prediction: str, expected: int) -> None:
    assert scored(gold, prediction) == float(expected)


def test_table_agrees_with_published_grader() -> None:
    ref = pytest.importorskip("mathruler.grader")
    assert [int(ref.grade_answer(p, g)) for g, p, _ in TABLE] == [e for _, _, e in TABLE]


def test_through_the_public_api() -> None:
    full = unireward.score("<think>t</think><answer>(c)</answer>", "C", "multiple choice")
    assert (full.total, full.accuracy, full.format, full.structure) == (1.5, 1.0, 1.0, 0.5)
    wrong = unireward.score("<think>t</think><answer>C.</answer>", "C", "Multiple Choice")
    assert (wrong.total, wrong.accuracy) == (pytest.approx(0.6), 0.0)


def test_reference_vectors(reference_rows: list[dict]) -> None:
    rows = [r for r in reference_rows if r["problem_type"].lower() == "multiple choice"]
    assert rows
    for row in rows:
        r = unireward.score(row["completion"], row["ground_truth"], row["problem_type"])
        assert r.accuracy == row["components"]["accuracy"], row["notes"]
        assert r.total == pytest.approx(row["expected_reward"]), row["notes"]


# ---- differential test against the published grader -------------------------------------

_LETTERS = ["A", "B", "C", "D", "a", "c"]
_SHAPES = [
    "{}",
    "({})",
    "[{}]",
    "\\text{{{}}}",
    "$ {} $",
    "$\\boxed{{{}}}$",
    "{}.",
    "{})",
    "**{}**",
    "Option {}",
    "{}, {}",
    "{{{}}}",
    "{} cm",
    "{} and {}",
    "{} or {}",
    "\\textbf{{{}}}",
    " {} ",
    "{}\n",
    "\\text{{ {}}}",
    "{}\\%",
    "-{}",
    "{}: text",
    "({}, {})",
    "[{}, {}]",
    "{}{}",
]
_ATOMS = _LETTERS + [
    "1/2",
    "0.5",
    "\\frac{1}{2}",
    "\\dfrac12",
    "2x",
    "x*2",
    "3",
    "3.0",
    "1,000",
    "1000",
    "(1, 2)",
    "[1,2]",
    "\\sqrt{4}",
    "\\sqrt2",
    "2",
    "50%",
    "50",
    "x = 5",
    "5",
    "10^2",
    "100",
    "- 3",
    "-3",
    "7 3/4",
    "31/4",
    "90^\\circ",
    "\\pi",
    "pi/2",
    "\\frac{\\pi}{2}",
    "0.1+0.2",
    "0.3",
    "3!",
    "6",
    "2^0.5",
    "\\sqrt{2}",
    "(x+1)^2",
    "x^2+2x+1",
    "e^2",
    "ee",
    "3 million",
]


def _random_text(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(_ATOMS)
    shape = rng.choice(_SHAPES)
    return shape.format(*(rng.choice(_ATOMS) for _ in range(shape.count("{}"))))


@pytest.mark.slow
def test_agrees_with_published_grader_on_generated_pairs() -> None:
    ref = pytest.importorskip("mathruler.grader")
    rng = random.Random(20250601)
    pairs = []
    for _ in range(2500):
        gold = _random_text(rng)
        answer = gold if rng.random() < 0.15 else _random_text(rng)
        pairs.append((gold, answer))
    expected = [ref.grade_answer(a, g) for g, a in pairs]
    assert sum(expected) > 200  # the sample exercises matches, not only mismatches
    disagreements = [
        (g, a, e) for (g, a), e in zip(pairs, expected, strict=True) if grade_answer(a, g) != e
    ]
    assert not disagreements, disagreements[:10]


# ---- hostile input -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["A", "B", "C", "D", "1/2", "x+1"]))
def test_arbitrary_text_never_raises(answer: str, gold: str) -> None:
    assert scored(gold, answer) in (0.0, 1.0)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("C" * 1_000_000, 0.0),
        ("\\frac" * 100_000, 0.0),
        ("{" * 50_000 + "C" + "}" * 50_000, 1.0),  # the grader deletes every brace
        ("\\text{" + "C" * 100_000 + "}", 0.0),
        ("9**9**9**9", 0.0),
        ("(C)" + " " * 100_000, 1.0),  # stripped, then "(c)" is the 1-tuple "c"
        ("1" * 5000, 0.0),
    ],
    ids=["1MB", "fracs", "braces", "text", "tower", "spaces", "digits"],
)
def test_hostile_answers_are_graded_not_evaluated(answer: str, expected: float) -> None:
    assert scored("C", answer) == expected
