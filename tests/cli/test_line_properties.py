"""Properties of the line reader and the row writer behind both engines: arbitrary bytes
are split the same way from a file and from a stream, and every line of arbitrary text
gives exactly one output row of standard JSON in valid UTF-8."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from unireward.cli._engines import ScoringJob, score_lines
from unireward.cli._io import jsonl_lines, split_lines, visible

from ._helpers import strict_json

FRAGMENTS = st.sampled_from(
    [
        '{"completion": "<think>t</think><answer>B</answer>", "solution": "B", '
        '"problem_type": "multiple choice"}',
        '{"a": NaN}',
        '{"a": 1e999}',
        '"\\ud800"',
        '{"k": "\\udfff"}',
        "[" * 5000,
        "\x0c",
        "\u3000",
        "{",
        "",
        '{"completion": "x", "solution": "\\ud83d\\ude00", "problem_type": "Multiple_Choice"}',
    ]
)


class Chunks:
    """A stream that hands out its bytes in the given (small, uneven) pieces."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.buf = io.BytesIO(data)
        self.sizes = sizes or [1]
        self.i = 0

    def read(self, n: int) -> bytes:
        size = self.sizes[self.i % len(self.sizes)]
        self.i += 1
        return self.buf.read(size)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(1, 7), max_size=5))
def test_stream_and_file_give_the_same_lines(data: bytes, sizes: list[int]) -> None:
    from_file = list(jsonl_lines(io.BytesIO(data)))
    from_stream = list(jsonl_lines(split_lines(Chunks(data, sizes).read)))
    assert [(n, t) for n, t, _ in from_file] == [(n, t) for n, t, _ in from_stream]
    assert sum(size for _, _, size in from_file) == len(data)  # every byte belongs to a line
    assert len(from_file) == data.count(b"\n") + (not data.endswith(b"\n") and bool(data))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            FRAGMENTS,
            st.text(max_size=30),
            st.binary(max_size=30).map(lambda b: b.decode("utf-8", "surrogateescape")),
            st.builds(lambda a, b: a + b, FRAGMENTS, st.text(max_size=5)),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_every_line_gives_one_row_of_standard_json(lines: list[str]) -> None:
    lines = [x.replace("\n", " ") for x in lines]  # one line each, as the reader gives them
    res = score_lines(lines, ScoringJob())
    out = res.data.decode("utf-8").split("\n")  # valid UTF-8 throughout
    assert out[-1] == "" and len(out) - 1 == len(lines) == len(res.summary)
    for line, text, summary in zip(lines, out[:-1], res.summary, strict=True):
        row = strict_json(text)
        assert row["status"] == summary[-1]
        if "_raw" in row and set(row) == {"_raw", "reward", "accuracy", "format", "structure",
                                          "status", "reason"}:
            assert row["_raw"] == visible(line)
            assert row["status"] == "error" and row["reward"] == 0.0
        else:
            assert isinstance(json.loads(line), dict)  # a row: the input was an object
    unreadable = {i for i, _ in res.input_errors}
    assert all(res.summary[i][0] == "(unreadable)" for i in unreadable)
