"""OpenRLHF lists to records: properties over arbitrary labels, queries and prompts."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from unireward.server import EOS_TOKENS, labels_to_records, response_of
from unireward.server._labels import RowError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["solution", "answer", "ground_truth", "problem_type", "task", "data_type",
                         "problem_id", "x"]), children, max_size=4),
    max_leaves=12,
)
labels = json_values | json_values.map(json.dumps) | st.text(max_size=40)
queries = st.text(max_size=60) | st.integers()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(queries, st.text(max_size=20), labels), max_size=8),
       st.sampled_from([None, "multiple choice"]))
def test_every_sample_gets_a_record_or_a_reason(samples: list, default_task: str | None) -> None:
    q = [s[0] for s in samples]
    p = [s[1] for s in samples]
    lab = [s[2] for s in samples]
    out = labels_to_records(q, p, lab, default_task)
    assert len(out) == len(samples)
    for row in out:
        if isinstance(row, RowError):
            assert str(row)
        else:
            assert (
                isinstance(row["completion"], str)
                and row["ground_truth"] is not None
                and row["task"]
            )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_a_query_that_starts_with_its_prompt_keeps_the_rest(prompt: str, response: str) -> None:
    assert response_of(prompt + response, prompt, ()) == response


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=40),
    st.text(min_size=1, max_size=40),
    st.lists(st.sampled_from(EOS_TOKENS), max_size=3),
)
def test_trailing_end_markers_are_removed(prompt: str, response: str, ends: list[str]) -> None:
    core = response.rstrip()
    if not core or any(core.endswith(t) for t in EOS_TOKENS):
        return
    assert response_of(prompt + core + "".join(ends), prompt) == core


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200))
def test_response_of_never_fails(query: str, prompt: str) -> None:
    out = response_of(query, prompt)
    assert isinstance(out, str) and len(out) <= len(query)
