"""Multiple choice and math: spec cases, a differential test against the published grader,
and hang-proofing from the main thread, a worker thread and a worker process."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time

import pytest

import unireward
from unireward import Status
from unireward._mathsafe.prm800k import grade_answer
from unireward._mathsafe.safe_eval import Refused, equal
from unireward._mathsafe.screen import refusal


def wrap(answer: str) -> str:
    return f"<think>t</think><answer>{answer}</answer>"


@pytest.mark.parametrize(
    "answer", ["C", "c", "(C)", "(c)", "[C]", "{C}", "\\text{C}", "$ C $", "$\\boxed{C}$"]
)
def test_choice_accepted(answer: str) -> None:
    assert unireward.score(wrap(answer), "C", "multiple choice").accuracy == 1.0


@pytest.mark.parametrize(
    "answer", ["C.", "C)", "**C**", "'C'", "Option C", "Answer: C", "C, D", "C: text", "C. 40°", "D"]
)
def test_choice_rejected(answer: str) -> None:
    assert unireward.score(wrap(answer), "C", "multiple choice").accuracy == 0.0


def test_choice_gold_with_dot_is_not_matched_by_letter() -> None:
    assert unireward.score(wrap("C"), "C.", "multiple choice").accuracy == 0.0


def _random_answers(rng: random.Random) -> str:
    letters = ["A", "B", "C", "D", "a", "c"]
    shapes = [
        "{}", "({})", "[{}]", "\\text{{{}}}", "$ {} $", "$\\boxed{{{}}}$", "{}.", "{})", "**{}**",
        "Option {}", "{}, {}", "{{{}}}", "{} cm", "1/2", "0.5", "\\frac{{1}}{{2}}", "2x", "x*2",
        "3", "3.0", "1,000", "1000", "(1, 2)", "[1,2]", "\\sqrt{{4}}", "2", "50%", "50", "x = 5", "5",
        "10^2", "100", "c d", "\\dfrac12", "-3", "- 3",
    ]
    shape = rng.choice(shapes)
    return shape.format(*(rng.choice(letters) for _ in range(shape.count("{}"))))


def test_choice_grader_agrees_with_published_grader() -> None:
    ref = pytest.importorskip("mathruler.grader")
    rng = random.Random(7)
    pairs = [(_random_answers(rng), _random_answers(rng)) for _ in range(1500)]
    pairs += [(a, a) for a, _ in pairs[:100]]
    disagreements = [(a, g) for a, g in pairs if grade_answer(a, g) != ref.grade_answer(a, g)]
    assert not disagreements, disagreements[:10]


def test_safe_evaluator_refuses_what_it_cannot_bound() -> None:
    with pytest.raises(Refused):
        equal("2^(10^10)", "1")
    with pytest.raises(Refused):
        equal("__import__('os')", "1")
    assert equal("(1+2)*3", "9") and not equal("0.3333333333", "1/3")


@pytest.mark.parametrize(
    ("gold", "answer", "expected"),
    [
        ("-1.5", "$$-\\dfrac{3}{2}$$", 1.0),
        ("\\frac{6}{2}", "3", 1.0),
        ("2", "$x=2$", 1.0),
        ("40", "\\boxed{40}", 1.0),
        ("40", "41", 0.0),
        ("\\frac{1}{2}", "0.5", 1.0),
        ("x^2+2x+1", "(x+1)^2", 0.0),  # Math-Verify says False (no $ delimiters)
        ("$x^2+2x+1$", "$(x+1)^2$", 1.0),
        ("\\sqrt{2}", "1.41", 0.0),
    ],
)
def test_math_cases(gold: str, answer: str, expected: float) -> None:
    assert unireward.score(wrap(answer), gold, "math").accuracy == expected


ADVERSARIAL = [
    "\\boxed{9^{9^{9^{9}}}}",
    "10000000!",
    "\\dfrac{1}{2}^{\\dfrac{1}{2}^{\\dfrac{1}{2}^{\\dfrac{1}{2}}}}",
    "1+" * 500_000 + "1",  # a 1 MB expression
    "{" * 5000 + "1" + "}" * 5000,
    "2^{99999999}",
]


@pytest.mark.parametrize("answer", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_math_is_refused_quickly(answer: str) -> None:
    r = unireward.score(wrap(answer), "3", "math", math_timeout=2.0)
    assert r.accuracy == 0.0
    assert r.status in (Status.PARSE_ERROR, Status.DEADLINE)
    assert refusal(answer) is not None


def test_deadline_kills_slow_symbolic_work() -> None:
    # passes the screen, but is expensive for the symbolic engine
    slow = "+".join(f"x^{{{i}}}" for i in range(1, 19)) + "*(" + "+".join(f"y^{i}" for i in range(1, 9)) + ")^{9}"
    start = time.monotonic()
    r = unireward.score(wrap(slow), "(x+y+1)^{12}", "math", math_timeout=1.0)
    elapsed = time.monotonic() - start
    assert r.accuracy == 0.0
    if r.status is Status.DEADLINE:
        assert elapsed < 30  # the worker was killed, not waited for


def _score_in_child(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    r = unireward.score(wrap("\\boxed{9^{9^{9^{9}}}}"), "3", "math", math_timeout=1.0)
    r2 = unireward.score(wrap("\\frac{6}{2}"), "3", "math", math_timeout=20.0)
    queue.put((r.accuracy, r.status.value, r2.accuracy))


def test_math_from_a_worker_thread() -> None:
    out: list[tuple[float, float]] = []

    def work() -> None:
        a = unireward.score(wrap("\\boxed{9^{9^{9^{9}}}}"), "3", "math", math_timeout=1.0)
        b = unireward.score(wrap("$$-\\dfrac{3}{2}$$"), "-1.5", "math", math_timeout=20.0)
        out.append((a.accuracy, b.accuracy))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert out == [(0.0, 1.0)] * 3


@pytest.mark.parametrize("daemon", [False, True])
def test_math_from_a_worker_process(daemon: bool) -> None:
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_score_in_child, args=(q,), daemon=daemon)
    p.start()
    acc, status, acc2 = q.get(timeout=180)
    p.join(30)
    assert (acc, acc2) == (0.0, 1.0)
    assert status in ("parse_error", "deadline")


def test_math_batch_agrees_with_math_verify() -> None:
    from math_verify import parse, verify

    pairs = [("\\frac{1}{2}", "0.5"), ("3", "\\frac{6}{2}"), ("$x+1$", "$1+x$"), ("7", "8"),
             ("x+1", "1+x"), ("\\pi", "3.14159"), ("$[1, 2]$", "$[1,2]$"), ("50\\%", "0.5")] * 2
    recs = [{"completion": wrap(a), "ground_truth": g, "task": "math"} for a, g in pairs]
    res = unireward.score_batch(recs)
    expected = [float(verify(parse(g), parse(a))) for a, g in pairs]
    assert [r.accuracy for r in res] == expected
