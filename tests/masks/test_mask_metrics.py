"""Mask metrics against independent references, plus properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays

from unireward.errors import ConfigurationError
from unireward.masks import (
    boundary_f,
    ciou,
    decode_rle,
    giou,
    j_and_f,
    keyframe_index,
    mask_iou,
    prompt_from_answer,
)


def loop_iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = union = 0
    for x, y in zip(a.ravel().tolist(), b.ravel().tolist(), strict=True):
        inter += x and y
        union += x or y
    return inter / union if union else 1.0


MASKS = arrays(bool, (12, 12))


@given(MASKS, MASKS)
@settings(max_examples=200, deadline=None)
def test_mask_iou_matches_loop_and_is_symmetric(a: np.ndarray, b: np.ndarray) -> None:
    v = float(mask_iou(a, b))
    assert v == pytest.approx(loop_iou(a, b))
    assert v == float(mask_iou(b, a)) and 0.0 <= v <= 1.0


@given(MASKS, MASKS)
@settings(max_examples=100, deadline=None)
def test_boundary_f_bounds_and_identity(a: np.ndarray, b: np.ndarray) -> None:
    assert 0.0 <= boundary_f(a, b) <= 1.0
    assert boundary_f(a, a) == 1.0


def test_boundary_f_tolerance() -> None:
    a = np.zeros((100, 100), bool)
    a[20:60, 20:60] = True
    shifted = np.roll(a, 1, axis=1)  # one pixel: within 0.0075 * 141 -> 2 px
    assert boundary_f(a, shifted) == 1.0
    far = np.roll(a, 10, axis=1)
    assert boundary_f(a, far) < 0.8
    assert boundary_f(a, np.zeros_like(a)) == 0.0


def test_giou_ciou_and_video() -> None:
    a = np.zeros((4, 4), bool)
    a[:2] = True
    full = np.ones((4, 4), bool)
    assert giou([a, full], [full, full]) == pytest.approx((0.5 + 1.0) / 2)
    assert ciou([a, full], [full, full]) == pytest.approx((8 + 16) / 32)
    video = j_and_f(np.stack([a, full]), np.stack([full, full]))
    assert video["J"] == pytest.approx(0.75) and video["J&F"] == pytest.approx((video["J"] + video["F"]) / 2)


def test_rle_decoding_matches_pycocotools_iou() -> None:
    mask_utils = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(0)
    a = rng.random((30, 40)) > 0.5
    b = rng.random((30, 40)) > 0.5
    ra = mask_utils.encode(np.asfortranarray(a.astype(np.uint8)))
    rb = mask_utils.encode(np.asfortranarray(b.astype(np.uint8)))
    assert np.array_equal(decode_rle(ra), a)
    ref = mask_utils.iou([ra], [rb], [0])[0][0]
    assert float(mask_iou(decode_rle(ra), decode_rle(rb))) == pytest.approx(ref)


def test_prompt_mapping() -> None:
    p = prompt_from_answer({"boxes": [900, 800, 100, 200], "positive_points": [[0, 0], [1000, 1000], [500, 250]],
                            "negative_points": [[10, 10], [20, 20], [30, 30]]}, width=640, height=480)
    assert p.box.tolist() == [64.0, 96.0, 576.0, 384.0]  # re-ordered corners, x*W/1000 rounded
    assert p.points[:3].tolist() == [[0, 0], [639, 479], [320, 120]]  # clipped to the image
    assert p.labels.tolist() == [1, 1, 1, 0, 0, 0]
    assert keyframe_index(1.3, 10, 50) == 13
    with pytest.raises(ConfigurationError):
        prompt_from_answer({"boxes": [1, 2]}, 10, 10)
