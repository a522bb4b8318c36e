"""Completion parsing: equality with the reference regexes, linear time, hostile input."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unireward.completion import (
    _scan_common,
    extract_answer,
    format_reward,
    normalize_tags,
    parse_completion,
    scan_completion,
    unwrap_ground_truth,
)

# The reference's regular expressions: used here only as the oracle.
REF_NORMALIZE = re.compile(r"\s*(<|>|/)\s*")
REF_FORMAT = re.compile(r"\A\s*<think>.*?</think>\s*<answer>.*?</answer>\s*\Z", re.DOTALL)
REF_ANSWER = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)


def ref_normalize(s: str) -> str:
    return REF_NORMALIZE.sub(r"\1", s)


def ref_format(s: str) -> float:
    return 1.0 if REF_FORMAT.fullmatch(s) else 0.0


def ref_extract(s: str) -> str | None:
    m = REF_ANSWER.search(s)
    return m.group(1).strip() if m else None


# Text built from the pieces that matter, so that random strings hit the edge cases often.
PIECES = st.sampled_from(
    [
        "<think>",
        "</think>",
        "<answer>",
        "</answer>",
        "<",
        ">",
        "/",
        " ",
        "\n",
        "\t",
        "\u00a0",
        "\u2003",
        "a",
        "C",
        "{",
        "}",
        '"',
        "1",
        "< answer >",
        "< / think >",
        "<Answer>",
        "\r\n",
        "x y",
        "</ answer>",
        "<think >",
    ]
)
TEXT = st.lists(PIECES, max_size=30).map("".join)


@given(TEXT)
@settings(max_examples=1500, deadline=None)
def test_normalize_matches_reference_regex(s: str) -> None:
    assert normalize_tags(s) == ref_normalize(s)


@given(TEXT)
@settings(max_examples=1500, deadline=None)
def test_format_matches_reference_regex(s: str) -> None:
    assert format_reward(s) == ref_format(s)
    norm = ref_normalize(s)
    assert format_reward(norm) == ref_format(norm)


@given(TEXT)
@settings(max_examples=1500, deadline=None)
def test_extract_matches_reference_regex(s: str) -> None:
    assert extract_answer(s) == ref_extract(s)


@given(st.text(max_size=60))
@settings(max_examples=800, deadline=None)
def test_arbitrary_unicode_matches_reference(s: str) -> None:
    assert normalize_tags(s) == ref_normalize(s)
    assert format_reward(s) == ref_format(s)
    assert extract_answer(s) == ref_extract(s)


def ref_scan(s: str) -> tuple[float, str, bool, str]:
    """What scoring needs of a completion, from the reference regexes alone."""
    norm = ref_normalize(s)
    ans = ref_extract(norm)
    return ref_format(norm), (ans if ans else norm.strip()), bool(ans), ans or ""


# The usual shape (four tags, in order) with hostile filling: stray tag characters and
# whitespace of every kind in each gap, so the fast path and its fallback both run.
GAP = st.lists(
    st.sampled_from(
        [
            " ",
            "\n",
            "\t",
            "\u00a0",
            "\u2003",
            "a",
            "1 / 2",
            "x > y",
            ">",
            "/",
            " /",
            "> ",
            '{"boxes": [1, 2, 3, 4]}',
            "<",
            "< answer >",
            "</answer>",
            "\x1c",
        ]
    ),
    max_size=4,
).map("".join)
SHAPED = st.tuples(GAP, GAP, GAP, GAP, GAP).map(
    lambda g: f"{g[0]}<think>{g[1]}</think>{g[2]}<answer>{g[3]}</answer>{g[4]}"
)


@given(st.one_of(TEXT, SHAPED, st.text(max_size=60)))
@settings(max_examples=3000, deadline=None)
def test_scan_matches_reference_regexes(s: str) -> None:
    assert scan_completion(s) == ref_scan(s)
    p = parse_completion(s)
    assert scan_completion(s) == (p.format, p.answer, p.has_answer_tags, p.tagged_answer)


def test_scan_fast_path_takes_the_usual_shape() -> None:
    usual = (
        "<think>the box is 1 / 3 of the frame -> left</think>\n"
        '<answer> {"boxes": [1, 2, 3, 4]} </answer>\n'
    )
    assert _scan_common(usual) == (1.0, '{"boxes": [1, 2, 3, 4]}', True, '{"boxes": [1, 2, 3, 4]}')
    assert _scan_common(usual) == ref_scan(usual)
    # anything else is left to the full parse
    assert _scan_common("<think>a < b</think><answer>C</answer>") is None
    assert _scan_common("<think>t</think><answer> </answer>") is None
    assert _scan_common("< think>t</think><answer>C</answer>") is None


@pytest.mark.parametrize(
    ("completion", "fmt", "answer"),
    [
        ("<think>reasoning here</think><answer>C</answer>", 1.0, "C"),
        ("<answer>C</answer>", 0.0, "C"),
        ("<think>x</think><answer>C</answer> Done.", 0.0, "C"),
        ("<think>x</think><answer>A</answer><answer>C</answer>", 1.0, "A"),
        ("<think>x</think><answer>C", 0.0, None),
        ("  < think >x< / think >\n\n< answer > C < / answer >  ", 1.0, "C"),
        ("<think></think><answer>C</answer>", 1.0, "C"),
        ("<think>a\r\nb</think>\r\n<answer>C</answer>\r\n", 1.0, "C"),
        ("<Think>x</Think><Answer>C</Answer>", 0.0, None),
        ("<think><answer>C</answer></think><answer>D</answer>", 1.0, "C"),
        ("<answer>C</answer><think>x</think>", 0.0, "C"),
    ],
)
def test_spec_cases(completion: str, fmt: float, answer: str | None) -> None:
    norm = normalize_tags(completion)
    assert norm == ref_normalize(completion)
    assert format_reward(norm) == fmt == ref_format(norm)
    assert extract_answer(norm) == answer == ref_extract(norm)


def test_empty_answer_falls_back_to_whole_completion() -> None:
    p = parse_completion("<think>the man cooks</think><answer>  </answer>")
    assert p.answer == "<think>the man cooks</think><answer></answer>"
    assert not p.has_answer_tags and p.tagged_answer == ""


def test_normalisation_changes_answer_text_like_the_reference() -> None:
    p = parse_completion("<think>t</think><answer>1 / 2 cup</answer>")
    assert p.answer == "1/2 cup"


def test_ground_truth_unwrapping_is_not_normalised() -> None:
    assert unwrap_ground_truth("<answer> 1 / 2 </answer>") == "1 / 2"
    assert unwrap_ground_truth("  plain  ") == "plain"
    assert unwrap_ground_truth([1, 2]) == [1, 2]


@pytest.mark.parametrize(
    "hostile",
    [
        "<think>" + " " * 10_000_000,
        "<think>x</think><answer>" + "a " * 5_000_000,
        "<answer>" * 100_000 + "x",
        "<think>" * 100_000 + "</think>" * 100_000 + "<answer>" * 100_000,
        "</think>" * 1_000_000 + "<answer>",
        "<think>" + "</think> \n" * 500_000 + "<answer>x",
        " / " * 3_000_000,
    ],
    ids=["spaces", "long-answer", "open-answers", "nested", "closers", "ws-runs", "slashes"],
)
def test_hostile_inputs_are_linear(hostile: str) -> None:
    # Timings live in benchmarks/bench_parsing.py; the reference regexes take minutes on
    # these, so finishing within the test run at all shows the scans are not quadratic.
    p = parse_completion(hostile)
    assert p.format in (0.0, 1.0)
    assert isinstance(p.answer, str)
    assert p.format == 0.0  # none of them has a closed answer at the end


def test_str_whitespace_is_regex_whitespace() -> None:
    """The scans strip with ``str.strip()`` where the reference regexes use ``\\s``: the two
    agree on every code point."""
    import sys

    ws = re.compile(r"\s")
    assert [
        hex(i)
        for i in range(sys.maxunicode + 1)
        if chr(i).isspace() != bool(ws.fullmatch(chr(i)))
        or (not chr(i).strip()) != chr(i).isspace()
    ] == []
