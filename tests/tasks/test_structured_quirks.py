"""Named cases from the spec's fine print (section 3 and 3a), the strict profile, ground
truth errors and the polygon task."""

from __future__ import annotations

import json
import math
import pickle

import pytest

from unireward.errors import GroundTruthError
from unireward.result import Status
from unireward.tasks.base import ScoreOptions
from unireward.tasks.grounding import (
    PolygonGroundingScorer,
    SpatialGroundingScorer,
    SpatioTemporalGroundingScorer,
    TemporalGroundingScorer,
)
from unireward.tasks.segmentation import SegmentationScorer
from unireward.tasks.tracking import TrackingScorer

OPTS = ScoreOptions()
STRICT = ScoreOptions(profile="strict")
SEG_GT = {
    "boxes": [100, 100, 300, 300],
    "positive_points": [[150, 150], [200, 200], [250, 250]],
    "negative_points": [[50, 50], [350, 350], [50, 350]],
    "time": 3.0,
}


def run(scorer, answer: str, gt, data_type: str = "video", opts: ScoreOptions = OPTS):  # type: ignore[no-untyped-def]
    return scorer.score(
        answer, scorer.prepare_ground_truth(gt, data_type), data_type=data_type, options=opts
    )


@pytest.mark.parametrize(
    ("answer", "acc", "struct", "status"),
    [
        pytest.param('{"time": [2, 4]}', 1.0, 0.5, Status.OK, id="exact"),
        pytest.param('{"time": ["2", " 4.0 "]}', 1.0, 0.5, Status.OK, id="numeric-strings"),
        pytest.param('{"time": [true, 3]}', 1 / 3, 0.5, Status.OK, id="boolean-is-1"),
        pytest.param('{"time": [4, 2]}', 0.0, 0.5, Status.OK, id="swapped-not-reordered"),
        pytest.param('{"time": [NaN, 4]}', 0.0, 0.5, Status.NON_FINITE, id="nan-earns-structure"),
        pytest.param('{"time": [2, Infinity]}', 0.0, 0.5, Status.NON_FINITE, id="infinity"),
        pytest.param('{"time": [2, 1e309]}', 0.0, 0.5, Status.NON_FINITE, id="overflow-literal"),
        pytest.param(
            '{"time": [0, 1], "time": [2, 4]}', 1.0, 0.5, Status.OK, id="last-duplicate-wins"
        ),
        pytest.param('{"time": [2, 4], "why": "x"}', 1.0, 0.5, Status.OK, id="extra-key"),
        pytest.param('{"time": [2, 3, 4]}', 0.0, 0.0, Status.SCHEMA_ERROR, id="three-numbers"),
        pytest.param('{"time": ["two", 4]}', 0.0, 0.0, Status.SCHEMA_ERROR, id="word"),
        pytest.param('{"time": [2, 4],}', 0.0, 0.0, Status.MALFORMED_JSON, id="trailing-comma"),
        pytest.param("{'time': [2, 4]}", 0.0, 0.0, Status.MALFORMED_JSON, id="single-quotes"),
        pytest.param('{"time": [2, 4]} done', 0.0, 0.0, Status.MALFORMED_JSON, id="trailing-text"),
        pytest.param("[2, 4]", 0.0, 0.0, Status.SCHEMA_ERROR, id="bare-list"),
    ],
)
def test_temporal_fine_print(answer: str, acc: float, struct: float, status: Status) -> None:
    out = run(TemporalGroundingScorer(), answer, '{"time": [2, 4]}')
    assert (out.accuracy, out.structure, out.status) == (pytest.approx(acc), struct, status)
    assert (out.reason is None) == (status is Status.OK)


def test_schema_reason_is_pydantic_text() -> None:
    out = run(SpatialGroundingScorer(), '{"boxes": [1, 2, 3]}', {"boxes": [1, 2, 3, 4]}, "image")
    assert out.reason == "boxes.3: Field required"
    out = run(TemporalGroundingScorer(), '{"time": [1, 2', {"time": [1, 2]})
    assert out.status is Status.MALFORMED_JSON and out.reason.startswith("answer is not valid JSON")


def test_strict_profile_reorders_swapped_ends_and_corners() -> None:
    assert (
        run(TemporalGroundingScorer(), '{"time": [4, 2]}', {"time": [2, 4]}, opts=STRICT).accuracy
        == 1.0
    )
    assert (
        run(
            SpatialGroundingScorer(),
            '{"boxes": [10, 10, 0, 0]}',
            {"boxes": [0, 0, 10, 10]},
            "image",
        ).accuracy
        == 0.0
    )
    out = run(
        SpatialGroundingScorer(),
        '{"boxes": [10, 10, 0, 0]}',
        {"boxes": [0, 0, 10, 10]},
        "image",
        STRICT,
    )
    assert out.accuracy == 1.0


def test_tracking_fine_print() -> None:
    gt = {"boxes": {"1": [0, 0, 10, 10], "2": [0, 0, 10, 10]}}
    s = TrackingScorer()
    assert run(s, '{"boxes": {}}', gt)[:3] == (0.0, 0.25, Status.OK)  # quirk: {} is valid
    assert run(s, '{"boxes": {}}', gt, opts=STRICT)[:3] == (0.0, 0.0, Status.SCHEMA_ERROR)
    assert run(s, '{"boxes": {"01": [0, 0, 10, 10], "2": [0, 0, 10, 10]}}', gt)[:2] == (0.5, 0.375)
    out = run(s, '{"boxes": {"1": [0, 0, 10, 10], "2": "lost"}}', gt)  # malformed frame scores 0
    assert (out.accuracy, out.structure, out.status) == (0.5, 0.25, Status.SCHEMA_ERROR)
    out = run(s, '{"boxes": {"1": [0, 0, 10, NaN], "2": [0, 0, 10, 10]}}', gt)
    assert (out.accuracy, out.structure, out.status) == (0.5, 0.5, Status.NON_FINITE)
    assert run(s, '{"boxes": [0, 0, 10, 10]}', gt)[:3] == (0.0, 0.0, Status.SCHEMA_ERROR)
    # ground truth given as a dict with int keys: matched as strings
    assert run(s, '{"boxes": {"1": [0, 0, 10, 10]}}', {"boxes": {1: [0, 0, 10, 10]}})[:2] == (
        1.0,
        0.5,
    )


def test_spatio_temporal_fine_print() -> None:
    gt = {"time": [0, 10], "boxes": {"9": [0, 0, 10, 10], "10": [0, 0, 10, 10]}}
    s = SpatioTemporalGroundingScorer()
    assert s.aliases == ("spatio-temporal grounding",)
    # time of two non-numbers is "valid" for structure; the temporal half scores 0
    out = run(s, '{"time": ["a", "b"], "boxes": {"9": [0, 0, 10, 10], "10": [0, 0, 10, 10]}}', gt)
    assert (out.accuracy, out.structure, out.status) == (0.5, 0.5, Status.SCHEMA_ERROR)
    # "9.0" and "09" are not "9"; the shared frame "10" alone decides the spatial half
    out = run(s, '{"time": [0, 10], "boxes": {"9.0": [0, 0, 10, 10], "10": [0, 0, 10, 5]}}', gt)
    assert (out.accuracy, out.structure) == (pytest.approx(0.5 + 0.25), 0.375)
    out = run(s, '{"time": [0, 10], "boxes": {}}', gt)  # no shared key: spatial half 0
    assert (out.accuracy, out.structure, out.status) == (0.5, 0.25, Status.OK)
    out = run(s, '{"boxes": {"9": [0, 0, 10, 10]}}', gt)  # no time: temporal half 0
    assert (out.accuracy, out.structure, out.status) == (0.5, 0.125, Status.SCHEMA_ERROR)


@pytest.mark.parametrize("data_type", ["image", "Image", "IMAGE"])
def test_segmentation_image_is_case_insensitive_and_ignores_time(data_type: str) -> None:
    answer = dict(SEG_GT, time="not a number")
    out = run(SegmentationScorer(), json.dumps(answer), SEG_GT, data_type)
    assert out[:3] == (1.0, 0.5, Status.OK)


def test_segmentation_fine_print() -> None:
    s = SegmentationScorer()
    # a malformed box only zeroes the box term
    out = run(s, json.dumps(dict(SEG_GT, boxes=[[1, 2, 3, 4]])), SEG_GT, "video")
    assert (out.accuracy, out.structure, out.status) == (
        pytest.approx(0.7),
        0.0,
        Status.SCHEMA_ERROR,
    )
    out = run(s, json.dumps({k: v for k, v in SEG_GT.items() if k != "boxes"}), SEG_GT, "image")
    assert out.accuracy == pytest.approx(0.5)
    # a wrong point count, a list or missing video time zero everything
    for bad in (
        dict(SEG_GT, positive_points=SEG_GT["positive_points"] * 2),
        dict(SEG_GT, time=[3.0]),
    ):
        assert run(s, json.dumps(bad), SEG_GT, "video")[:3] == (0.0, 0.0, Status.SCHEMA_ERROR)
    assert run(s, json.dumps({k: v for k, v in SEG_GT.items() if k != "time"}), SEG_GT, "video")[
        :2
    ] == (0.0, 0.0)
    # boolean and integer times are JSON numbers
    assert run(s, json.dumps(dict(SEG_GT, time=True)), SEG_GT, "video").accuracy == pytest.approx(
        0.7 + 0.3 * math.exp(-1)
    )
    # any other data_type scores 0
    assert run(s, json.dumps(SEG_GT), SEG_GT, "audio")[:3] == (0.0, 0.0, Status.SCHEMA_ERROR)
    # a video truth scored as an image: the image formula
    assert run(s, json.dumps(dict(SEG_GT, time=99)), SEG_GT, "image").accuracy == 1.0


def test_segmentation_nan_time_never_gives_nan() -> None:
    """We differ from the reference: a NaN time makes the time term 0, not the reward NaN."""
    out = run(SegmentationScorer(), json.dumps(dict(SEG_GT, time=float("nan"))), SEG_GT, "video")
    assert (out.accuracy, out.structure, out.status) == (pytest.approx(0.7), 0.5, Status.NON_FINITE)
    out = run(
        SegmentationScorer(),
        json.dumps(dict(SEG_GT, negative_points=[[float("inf"), 0]] * 3)),
        SEG_GT,
        "image",
    )
    assert (out.accuracy, out.status) == (pytest.approx(0.75), Status.NON_FINITE)


@pytest.mark.parametrize(
    ("scorer", "gt", "data_type", "match"),
    [
        (TemporalGroundingScorer(), '{"start": 1}', "video", "no field 'time'"),
        (TemporalGroundingScorer(), '{"time": [1, NaN]}', "video", "finite numbers"),
        (TemporalGroundingScorer(), "not json", "video", "not valid JSON"),
        (SpatialGroundingScorer(), [1, 2, 3, 4], "image", "must be a JSON object, got list"),
        (TrackingScorer(), {"boxes": {}}, "video", "non-empty object"),
        (
            SpatioTemporalGroundingScorer(),
            {"time": [0, 1], "boxes": {"1": [0, 0, 1]}},
            "video",
            r"boxes\['1'\]",
        ),
        (SegmentationScorer(), dict(SEG_GT, positive_points=[[0, 0]]), "image", "positive_points"),
        (
            SegmentationScorer(),
            {k: v for k, v in SEG_GT.items() if k != "time"},
            "video",
            "no field 'time'",
        ),
        (
            PolygonGroundingScorer(),
            {"polygon": [[0, 0], [2, 2], [2, 0], [0, 2]]},
            "image",
            "not simple",
        ),
    ],
)
def test_bad_ground_truth_raises_naming_the_field(scorer, gt, data_type: str, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GroundTruthError, match=match):
        scorer.prepare_ground_truth(gt, data_type)


def test_polygon_grounding() -> None:
    s = PolygonGroundingScorer()
    gt = {"polygon": [[0, 0], [4, 0], [4, 4], [0, 4]]}
    assert run(s, '{"quad": [[0, 0], [4, 0], [4, 4], [0, 4]]}', gt, "image")[:3] == (
        1.0,
        0.5,
        Status.OK,
    )
    assert run(s, '{"rbox": [2, 2, 4, 4, 0]}', gt, "image")[:2] == (1.0, 0.5)
    assert run(s, '{"rbox": [2, 2, 4, 4, 90]}', gt, "image").accuracy == pytest.approx(1.0)
    assert run(
        s, '{"polygon": [[0, 0], [2, 0], [2, 4], [0, 4]]}', gt, "image"
    ).accuracy == pytest.approx(0.5)
    out = run(s, '{"polygon": [[0, 0], [4, 4], [4, 0], [0, 4]]}', gt, "image")
    assert (out.accuracy, out.structure, out.status) == (0.0, 0.0, Status.SCHEMA_ERROR)
    assert out.reason.startswith("polygon is not simple: Self-intersection")
    out = run(s, '{"polygon": [[0, 0], [4, 0]]}', gt, "image")
    assert (out.structure, out.status, out.reason) == (
        0.0,
        Status.SCHEMA_ERROR,
        "polygon: List should have at least 3 items after validation, not 2",
    )
    assert run(s, '{"polygon": [[0, 0], [NaN, 0], [0, 4]]}', gt, "image")[:3] == (
        0.0,
        0.5,
        Status.NON_FINITE,
    )
    assert (
        run(s, '{"shape": 1}', gt, "image").reason
        == "answer: Value error, needs one of 'polygon', 'quad' or 'rbox'"
    )


def test_scorers_pickle() -> None:
    for cls in (
        TemporalGroundingScorer,
        SpatialGroundingScorer,
        SpatioTemporalGroundingScorer,
        TrackingScorer,
        SegmentationScorer,
        PolygonGroundingScorer,
    ):
        clone = pickle.loads(pickle.dumps(cls()))
        assert clone.name == cls.name and clone.structured
