"""Every structured row of the reference vectors, through the scorers and through the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import unireward
from unireward.completion import parse_completion, unwrap_ground_truth
from unireward.registry import canonical_task, get_scorer, register_task
from unireward.tasks.base import ScoreOptions, TaskScorer
from unireward.tasks.grounding import SCORERS as GROUNDING
from unireward.tasks.segmentation import SCORERS as SEGMENTATION
from unireward.tasks.tracking import SCORERS as TRACKING

VECTORS = Path(__file__).resolve().parents[1] / "data" / "onethinker_reference.jsonl"
STRUCTURED = {
    "temporal_grounding",
    "spatial_grounding",
    "spatial_temporal_grounding",
    "tracking",
    "segmentation_image",
    "segmentation_video",
}
ROWS = [
    row
    for row in (json.loads(line) for line in VECTORS.read_text().splitlines() if line.strip())
    if row["task"] in STRUCTURED
]
SCORER_BY_NAME: dict[str, TaskScorer] = {}
for cls in (*GROUNDING, *TRACKING, *SEGMENTATION):
    s = cls()
    for n in (s.name, *s.aliases):
        SCORER_BY_NAME[canonical_task(n)] = s


def _id(row: dict) -> str:
    return f"{row['task']}:{row['notes'][:40]}"


def test_every_structured_task_has_rows() -> None:
    assert {r["task"] for r in ROWS} == STRUCTURED
    assert len(ROWS) >= 20


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_scorer_reproduces_reference(row: dict) -> None:
    scorer = SCORER_BY_NAME[canonical_task(row["problem_type"])]
    parsed = parse_completion(row["completion"])
    truth = scorer.prepare_ground_truth(unwrap_ground_truth(row["ground_truth"]), row["data_type"])
    out = scorer.score(parsed.answer, truth, data_type=row["data_type"], options=ScoreOptions())
    comp = row["components"]
    assert parsed.format == comp["format"]
    assert out.accuracy == pytest.approx(comp["accuracy"], abs=1e-6)
    structure = out.structure if parsed.format else 0.0
    assert structure == pytest.approx(comp["structure_reward"], abs=1e-6)
    total = 0.9 * out.accuracy + 0.1 * parsed.format + structure
    assert total == pytest.approx(row["expected_reward"], abs=1e-6)


def test_batch_of_all_rows_matches_reference() -> None:
    """The same rows scored in one batch per task (the vectorised path)."""
    by_task: dict[str, list[dict]] = {}
    for row in ROWS:
        by_task.setdefault(canonical_task(row["problem_type"]), []).append(row)
    for task, rows in by_task.items():
        scorer = SCORER_BY_NAME[task]
        answers = [parse_completion(r["completion"]).answer for r in rows]
        truths = [
            scorer.prepare_ground_truth(unwrap_ground_truth(r["ground_truth"]), r["data_type"])
            for r in rows
        ]
        outs = scorer.score_many(answers, truths, [r["data_type"] for r in rows], ScoreOptions())
        for r, o in zip(rows, outs, strict=True):
            assert o.accuracy == pytest.approx(r["components"]["accuracy"], abs=1e-6), _id(r)


@pytest.fixture()
def our_scorers_registered() -> Iterator[None]:
    """Register these scorers in place of whatever the registry holds, then restore it."""
    previous = {name: get_scorer(name) for name in SCORER_BY_NAME}
    for scorer in {id(s): s for s in SCORER_BY_NAME.values()}.values():
        register_task(scorer, overwrite=True)
    try:
        yield
    finally:
        for scorer in {id(s): s for s in previous.values()}.values():
            register_task(scorer, overwrite=True)


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_api_reproduces_reference(row: dict, our_scorers_registered: None) -> None:
    r = unireward.score(
        row["completion"], row["ground_truth"], row["problem_type"], data_type=row["data_type"]
    )
    comp = row["components"]
    assert (r.accuracy, r.format, r.structure) == pytest.approx(
        (comp["accuracy"], comp["format"], comp["structure_reward"]), abs=1e-6
    )
    assert r.total == pytest.approx(row["expected_reward"], abs=1e-6)


def test_api_batch_reproduces_reference(our_scorers_registered: None) -> None:
    results = unireward.score_batch(
        [
            {
                "completion": r["completion"],
                "ground_truth": r["ground_truth"],
                "task": r["problem_type"],
                "data_type": r["data_type"],
            }
            for r in ROWS
        ]
    )
    for row, res in zip(ROWS, results, strict=True):
        assert res.total == pytest.approx(row["expected_reward"], abs=1e-6), _id(row)
