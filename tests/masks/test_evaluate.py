"""The evaluation helpers with the box baseline (exact numbers worked out by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from unireward.errors import ConfigurationError, GroundTruthError, InputError
from unireward.masks import (
    BoxMaskPredictor,
    evaluate_image_segmentation,
    evaluate_video_segmentation,
    load_mask,
)
from unireward.result import Status

from ._sam2_helpers import require

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

POINTS = {"positive_points": [[1, 1]] * 3, "negative_points": [[2, 2]] * 3}


def rect(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def test_box_baseline_mask_by_hand() -> None:
    # 10x20 image: x 100 -> 2, 600 -> 12; y 200 -> 2, 700 -> 7 (inclusive pixel ranges)
    p = BoxMaskPredictor().predict_image(
        np.zeros((10, 20, 3), np.uint8), {"boxes": [600, 700, 100, 200], **POINTS}
    )
    assert p.status is Status.OK and p.masks.dtype == bool
    assert np.array_equal(p.masks, rect(10, 20, 2, 8, 2, 13))


def test_image_set_by_hand() -> None:
    truth_a = rect(10, 20, 2, 8, 2, 13)  # the box above exactly: 6 x 11 = 66 px
    truth_b = rect(10, 10, 0, 10, 0, 10)  # the whole 10x10 image: 100 px
    answers = [
        {"boxes": [100, 200, 600, 700], **POINTS},  # IoU 1
        {"boxes": [0, 0, 1000, 450], **POINTS},  # rows 0..4 (4.5 -> 4), all columns: 50 / 100
        '{"boxes": [1, 2, 3]}',  # unusable: empty mask, IoU 0 with a 100-px truth
    ]
    r = evaluate_image_segmentation(
        answers, [truth_a, truth_b, truth_b], predictor=BoxMaskPredictor()
    )
    assert r.ious.tolist() == [1.0, 0.5, 0.0]
    assert r.intersections.tolist() == [66, 50, 0] and r.unions.tolist() == [66, 100, 100]
    assert r.giou == pytest.approx(0.5)
    assert r.ciou == pytest.approx(116 / 266)
    assert r.statuses == (Status.OK, Status.OK, Status.SCHEMA_ERROR) and r.n_unusable == 1
    assert r.reasons[2] is not None and "boxes" in r.reasons[2]
    assert r.as_dict() == {
        "gIoU": pytest.approx(0.5),
        "cIoU": pytest.approx(116 / 266),
        "n": 3,
        "unusable": 1,
    }


def test_rle_truths_and_images() -> None:
    mask_utils = require("pycocotools.mask")
    truth = rect(10, 20, 2, 8, 2, 13)
    rle = mask_utils.encode(np.asfortranarray(truth.astype(np.uint8)))
    rle = {"size": rle["size"], "counts": rle["counts"].decode()}
    images = [np.zeros((10, 20, 3), np.uint8)]
    r = evaluate_image_segmentation([{"boxes": [100, 200, 600, 700], **POINTS}], [rle],
                                    predictor=BoxMaskPredictor(), images=images)
    assert r.ious.tolist() == [1.0]


def test_ground_truth_problems_raise() -> None:
    require("pycocotools")
    ans = [{"boxes": [0, 0, 10, 10], **POINTS}]
    with pytest.raises(GroundTruthError, match=r"gt_masks\[0\]"):
        evaluate_image_segmentation(
            ans, [{"size": [2, 2], "counts": [9]}], predictor=BoxMaskPredictor()
        )
    with pytest.raises(GroundTruthError, match="its image"):
        evaluate_image_segmentation(ans, [np.ones((4, 4))], predictor=BoxMaskPredictor(),
                                    images=[np.zeros((4, 5, 3), np.uint8)])
    with pytest.raises(GroundTruthError, match=r"one \(H, W\) mask"):
        evaluate_image_segmentation(ans, [np.ones((2, 4, 4))], predictor=BoxMaskPredictor())
    with pytest.raises(GroundTruthError):
        load_mask([{"size": [1, 2], "counts": [2]}, {"size": [2, 1], "counts": [2]}])


def test_configuration_problems_raise() -> None:
    class NeedsPixels(BoxMaskPredictor):
        needs_pixels = True

    ans = [{"boxes": [0, 0, 10, 10], **POINTS}]
    with pytest.raises(ConfigurationError, match="needs the images"):
        evaluate_image_segmentation(ans, [np.ones((4, 4))], predictor=NeedsPixels())
    with pytest.raises(ConfigurationError, match="1 answers for 2"):
        evaluate_image_segmentation(ans, [np.ones((4, 4))] * 2, predictor=BoxMaskPredictor())
    with pytest.raises(InputError, match="no images"):
        evaluate_image_segmentation([], [], predictor=BoxMaskPredictor())
    with pytest.raises(ConfigurationError, match="2 frame rates"):
        evaluate_video_segmentation(
            ans, [np.ones((2, 4, 4))], predictor=BoxMaskPredictor(), fps=[1.0, 2.0]
        )
    with pytest.raises(ConfigurationError, match="fps"):
        evaluate_video_segmentation(
            [dict(ans[0], time=1)], [np.ones((2, 4, 4))], predictor=BoxMaskPredictor(), fps=0
        )


def test_video_set_by_hand() -> None:
    obj = rect(8, 8, 2, 6, 2, 6)  # the box [250, 250, 625, 625] -> pixels 2..5 (5 = round(5.0))
    empty = np.zeros((8, 8), bool)
    answers = [
        {"boxes": [250, 250, 625, 625], **POINTS, "time": 0.6},  # fps 2 -> round(1.2) = 1
        {"boxes": [250, 250, 625, 625], **POINTS, "time": "0.6"},  # a string time: unusable
    ]
    truths = [np.stack([obj, empty]), np.stack([obj, obj])]
    r = evaluate_video_segmentation(answers, truths, predictor=BoxMaskPredictor(), fps=2.0)
    # video 1: frame 0 found (J = F = 1), frame 1 predicted where nothing is (J = F = 0);
    # video 2: empty masks against the object (J = F = 0)
    assert r.j.tolist() == [0.5, 0.0] and r.f.tolist() == [0.5, 0.0]
    assert r.as_dict() == {"J": 0.25, "F": 0.25, "J&F": 0.25, "n": 2, "unusable": 1}
    assert r.keyframes == (1, None)
    assert r.statuses[1] is Status.SCHEMA_ERROR


def test_video_truth_shape_must_match() -> None:
    with pytest.raises(GroundTruthError, match=r"\(T, H, W\)"):
        evaluate_video_segmentation(
            [{"time": 0}], [np.ones((4, 4))], predictor=BoxMaskPredictor(), fps=1
        )
