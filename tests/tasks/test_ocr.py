"""OCR accuracy: 1 - word error rate, words split exactly as ``str.split()`` splits them."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import unireward
from unireward.tasks.text import word_error_rate

THINK = "<think>t</think>"

#: every code point that ``str.split()`` treats as whitespace (29 on current Pythons)
WHITESPACE = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
#: separators that look like spaces but are not whitespace to ``str.split()``
NOT_WHITESPACE = ["\u200b", "\u2060", "\ufeff", "\u180e", "_", "\u00ad"]


def wrap(answer: str) -> str:
    return f"{THINK}<answer>{answer}</answer>"


def dp_wer(truth: str, answer: str) -> float:
    """The textbook dynamic programme over words (what the reference runs)."""
    ref, hyp = truth.split(), answer.split()
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = prev[j - 1] if r == h else 1 + min(prev[j], cur[j - 1], prev[j - 1])
        prev = cur
    return prev[-1] / max(1, len(ref))


def test_whitespace_list_is_what_we_think() -> None:
    assert "\n" in WHITESPACE and "\t" in WHITESPACE and "\u3000" in WHITESPACE
    assert "\x1c" in WHITESPACE and "\u2028" in WHITESPACE and "\x85" in WHITESPACE
    assert len(WHITESPACE) >= 25


@pytest.mark.parametrize("ws", WHITESPACE, ids=[f"U+{ord(c):04X}" for c in WHITESPACE])
def test_every_whitespace_kind_splits_words(ws: str) -> None:
    truth = "Main 24 Figure"
    answer = f"Main{ws}24{ws}{ws}Figure"
    assert unireward.score(wrap(answer), truth, "ocr").accuracy == 1.0
    # and in the truth
    assert unireward.score(wrap("Main 24 Figure"), answer, "ocr").accuracy == 1.0
    # one wrong word of three: WER 1/3
    r = unireward.score(wrap(f"Main{ws}25{ws}Figure"), truth, "ocr")
    assert r.accuracy == pytest.approx(2 / 3, abs=1e-15)


@pytest.mark.parametrize("sep", NOT_WHITESPACE, ids=[f"U+{ord(c):04X}" for c in NOT_WHITESPACE])
def test_non_whitespace_separators_keep_one_word(sep: str) -> None:
    # one answer word against three truth words: distance 3, WER 1, accuracy 0
    assert unireward.score(wrap(f"Main{sep}24{sep}Figure"), "Main 24 Figure", "ocr").accuracy == 0.0


def test_sign_listed_on_lines_scores_one() -> None:
    r = unireward.score(f"{THINK}<answer>Main\n24\nFigure</answer>", "Main 24 Figure", "OCR")
    assert (r.total, r.accuracy, r.status.value) == (1.5, 1.0, "ok")


@pytest.mark.parametrize(
    ("truth", "answer", "expected"),
    [
        ("", "", 1.0),  # WER 0 / max(1, 0)
        ("   ", "\n\t", 1.0),
        ("", "x", 0.0),  # WER = 1 answer word
        ("\u3000", "two words", 0.0),  # WER 2, clipped
    ],
)
def test_empty_truth(truth: str, answer: str, expected: float) -> None:
    from unireward.tasks.base import ScoreOptions
    from unireward.tasks.text import OCRScorer

    assert (
        OCRScorer().score(answer, truth, data_type=None, options=ScoreOptions()).accuracy
        == expected
    )


def test_empty_truth_through_score() -> None:
    # an empty answer block: the whole completion is graded (it has words), so accuracy 0
    r = unireward.score(wrap(""), "", "ocr")
    assert (r.accuracy, r.status.value) == (0.0, "no_tags")
    # a whitespace-only completion is graded as an empty answer: WER 0 -> accuracy 1, F 0
    r = unireward.score(" \n ", " ", "ocr")
    assert (r.total, r.accuracy, r.format) == (pytest.approx(0.9), 1.0, 0.0)


words = st.lists(st.sampled_from(["a", "b", "c", "ab", "A", "é", "中"]), max_size=12)
spaces = st.lists(
    st.sampled_from([" ", "\n", "\t", "\u3000", "\r\n", "\x0b", "  "]), min_size=13, max_size=13
)


def join(ws: list[str], sp: list[str]) -> str:
    return sp[-1] + "".join(w + s for w, s in zip(ws, sp, strict=False))


@settings(max_examples=400, deadline=None)
@given(words, words, spaces, spaces)
def test_matches_dynamic_programme(
    t: list[str], a: list[str], s1: list[str], s2: list[str]
) -> None:
    truth, answer = join(t, s1), join(a, s2)
    expected = dp_wer(truth, answer)
    assert word_error_rate(truth, answer) == expected
    r = unireward.score(wrap(answer), truth, "ocr")
    if answer.split():
        assert r.answer == answer.strip()
    else:  # an empty answer block: the whole completion is graded
        expected = dp_wer(truth, r.answer or "")
    assert r.accuracy == min(1.0, max(0.0, 1.0 - expected))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_arbitrary_text_matches_dynamic_programme(truth: str, answer: str) -> None:
    assert word_error_rate(truth, answer) == dp_wer(truth, answer)


def test_long_answers_stay_exact() -> None:
    # 2,000-word texts with one substitution and one deletion
    ref = " ".join(f"w{i}" for i in range(2000))
    hyp = ref.replace("w7 ", "x7 ").replace(" w1999", "")
    assert word_error_rate(ref, hyp) == 2 / 2000
