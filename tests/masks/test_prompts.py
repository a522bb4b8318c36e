"""The answer-to-prompt mapping of the spec (section 6), checked exactly."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unireward.errors import ConfigurationError, InputError
from unireward.masks import (
    GridAnswer,
    Sam2MaskPredictor,
    grid_to_pixels,
    keyframe_index,
    parse_segmentation_answer,
    prompt_from_answer,
)
from unireward.result import Status

ANSWER = {
    "boxes": [900, 800, 100, 200],
    "positive_points": [[0, 0], [1000, 1000], [500, 250]],
    "negative_points": [[10, 10], [999, 1], [-50, 2000]],
}


def test_grid_to_pixels_by_hand() -> None:
    # x * W / 1000: 250 * 640 / 1000 = 160; 999 -> 639.36 -> 639; 1000 -> 640 -> clipped 639
    assert grid_to_pixels([0, 250, 999, 1000, -5, 1e9], 640).tolist() == [0, 160, 639, 639, 0, 639]
    # halves round to even: 1 * 500 / 1000 = 0.5 -> 0, 3 -> 1.5 -> 2, 5 -> 2.5 -> 2
    assert grid_to_pixels([1, 3, 5], 500).tolist() == [0, 2, 2]
    assert grid_to_pixels([500], 1).tolist() == [0]
    with pytest.raises(InputError):
        grid_to_pixels([float("nan")], 10)
    with pytest.raises(ConfigurationError):
        grid_to_pixels([1], 0)


def test_prompt_by_hand() -> None:
    p = prompt_from_answer(ANSWER, width=640, height=480)
    # corners 900 -> 576, 100 -> 64 (x); 800 -> 384, 200 -> 96 (y); re-ordered
    assert p.box.tolist() == [64.0, 96.0, 576.0, 384.0]
    assert p.points.tolist() == [
        [0.0, 0.0], [639.0, 479.0], [320.0, 120.0],  # positives (1000 clipped to W-1 / H-1)
        [6.0, 5.0], [639.0, 0.0], [0.0, 479.0],  # negatives: 6.4 -> 6, 4.8 -> 5, 0.48 -> 0
    ]
    assert p.labels.tolist() == [1, 1, 1, 0, 0, 0]
    assert p.box.dtype == np.float32 and p.points.dtype == np.float32 and p.labels.dtype == np.int32


coord = st.floats(-200, 1200, allow_nan=False)


@given(
    st.lists(coord, min_size=4, max_size=4),
    st.lists(st.tuples(coord, coord), min_size=6, max_size=6),
    st.integers(1, 2000),
    st.integers(1, 2000),
)
@settings(max_examples=150, deadline=None)
def test_prompt_mapping_property(
    box: list[float], pts: list[tuple[float, float]], w: int, h: int
) -> None:
    a = {
        "boxes": box,
        "positive_points": [list(p) for p in pts[:3]],
        "negative_points": [list(p) for p in pts[3:]],
    }
    p = prompt_from_answer(a, w, h)

    def px(v: float, size: int) -> int:  # the spec's formula, one value at a time
        return min(max(round(v * size / 1000), 0), size - 1)

    xs, ys = sorted([px(box[0], w), px(box[2], w)]), sorted([px(box[1], h), px(box[3], h)])
    assert p.box.tolist() == [xs[0], ys[0], xs[1], ys[1]]
    assert p.points.tolist() == [[px(x, w), px(y, h)] for x, y in pts]
    assert (0 <= p.points[:, 0]).all() and (p.points[:, 0] <= w - 1).all()
    assert (0 <= p.points[:, 1]).all() and (p.points[:, 1] <= h - 1).all()


def test_keyframe_index_by_hand() -> None:
    assert keyframe_index(1.3, 10, 50) == 13
    assert keyframe_index(2.4, 5, 100) == 12
    assert keyframe_index(0.5, 5, 100) == 2  # 2.5 rounds to even
    assert keyframe_index(0.7, 5, 100) == 4  # 3.5 rounds to even
    assert keyframe_index(99.0, 5, 100) == 99 and keyframe_index(-3, 5, 100) == 0
    assert keyframe_index(7, 30, 1) == 0
    with pytest.raises(ConfigurationError):
        keyframe_index(1, 0, 10)
    with pytest.raises(ConfigurationError):
        keyframe_index(1, 5, 0)
    with pytest.raises(InputError):
        keyframe_index(float("inf"), 5, 10)


@pytest.mark.parametrize(
    ("answer", "video", "status", "reason"),
    [
        pytest.param(
            "{'boxes': 1}", False, Status.MALFORMED_JSON, "not valid JSON", id="single-quotes"
        ),
        pytest.param("[1, 2]", False, Status.SCHEMA_ERROR, "not a JSON object", id="list"),
        pytest.param(42, False, Status.SCHEMA_ERROR, "dict or JSON text", id="int"),
        pytest.param(
            {"boxes": [[1, 2, 3, 4]]}, False, Status.SCHEMA_ERROR, "boxes", id="nested-box"
        ),
        pytest.param(
            dict(ANSWER, positive_points=[[1, 2]] * 2),
            False,
            Status.SCHEMA_ERROR,
            "positive_points must be 3",
            id="two-points",
        ),
        pytest.param(
            dict(ANSWER, negative_points=None),
            False,
            Status.SCHEMA_ERROR,
            "negative_points",
            id="null-points",
        ),
        pytest.param(
            '{"boxes": [NaN, 1, 2, 3], "positive_points": [[1, 1], [1, 1], [1, 1]], '
            '"negative_points": [[1, 1], [1, 1], [1, 1]]}',
            False,
            Status.NON_FINITE,
            "NaN",
            id="nan",
        ),
        pytest.param(
            ANSWER,
            True,
            Status.SCHEMA_ERROR,
            "time must be a JSON number, got missing",
            id="no-time",
        ),
        pytest.param(dict(ANSWER, time=[1]), True, Status.SCHEMA_ERROR, "time", id="time-list"),
        pytest.param(
            dict(ANSWER, time=float("inf")), True, Status.NON_FINITE, "time", id="time-inf"
        ),
    ],
)
def test_unusable_answers_get_a_status(
    answer: object, video: bool, status: Status, reason: str
) -> None:
    g, s, r = parse_segmentation_answer(answer, video=video)
    assert g is None and s is status and r is not None and reason in r


def test_usable_answers() -> None:
    text = "<think>x</think><answer>" + json.dumps(dict(ANSWER, time=2)) + "</answer>"
    g, s, r = parse_segmentation_answer(text, video=True)
    assert s is Status.OK and r is None
    assert g == GridAnswer(
        (900.0, 800.0, 100.0, 200.0),
        ((0.0, 0.0), (1000.0, 1000.0), (500.0, 250.0)),
        ((10.0, 10.0), (999.0, 1.0), (-50.0, 2000.0)),
        2.0,
    )
    # numeric strings are numbers for the box and points (as in scoring); time is ignored for images
    g2, s2, _ = parse_segmentation_answer(dict(ANSWER, boxes=["1", "2", "3", "4"], time="x"))
    assert s2 is Status.OK and g2 is not None and g2.box == (1.0, 2.0, 3.0, 4.0) and g2.time is None
    with pytest.raises(InputError, match="unusable"):
        prompt_from_answer({"boxes": [1, 2]}, 10, 10)


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_arbitrary_text_never_raises(text: str) -> None:
    g, s, r = parse_segmentation_answer(text, video=True)
    assert (g is None) == (s is not Status.OK) == (r is not None)


def test_checkpoint_is_checked_before_anything_is_imported() -> None:
    with pytest.raises(ConfigurationError, match="checkpoint="):
        Sam2MaskPredictor()
    with pytest.raises(ConfigurationError, match="not found"):
        Sam2MaskPredictor(checkpoint="/nonexistent/sam2.1_hiera_tiny.pt")


def test_package_imports_without_torch_or_sam2() -> None:
    code = ("import sys, unireward.masks; "
            "print(sorted(m for m in ('torch', 'sam2', 'pycocotools') if m in sys.modules))")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
