"""Mask-reward ground truths: COCO RLE, polygons, PNG paths and arrays decode to the same
pixels; media by array, path or resolver; every unusable truth is a GroundTruthError that
names the problem. Pure NumPy / PIL / pycocotools (no SAM2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from unireward import score
from unireward.errors import ConfigurationError, GroundTruthError
from unireward.masks import Sam2MaskReward
from unireward.masks.truth import decode_true_mask, media_key, media_shape, prepare_mask_truth

from ._sam2_helpers import require

mask_utils = require("pycocotools.mask")
Image = require("PIL.Image")

H, W = 12, 16


def rect() -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[2:9, 3:11] = True  # rows 2..8, columns 3..10
    return m


def rle_of(m: np.ndarray) -> dict:
    r = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    return {"size": list(r["size"]), "counts": r["counts"].decode("ascii")}


def test_rle_polygon_png_and_array_agree(tmp_path: Path) -> None:
    m = rect()
    Image.fromarray(m.astype(np.uint8) * 255).save(tmp_path / "grey.png")
    Image.fromarray(np.stack([m.astype(np.uint8) * 7] * 3, axis=-1)).save(tmp_path / "rgb.png")
    Image.fromarray(m.astype(np.uint8) * 3, mode="L").convert("P").save(tmp_path / "pal.png")
    # COCO polygons are in pixel-corner coordinates: the square x 3..11, y 2..9 covers
    # exactly the pixels
    polygon = [[3, 2, 11, 2, 11, 9, 3, 9]]
    forms = {
        "rle": rle_of(m),
        "rle-uncompressed": {"size": [H, W], "counts": [int(c) for c in _runs(m)]},
        "polygon": polygon,
        "png": "grey.png",
        "png-absolute": str(tmp_path / "grey.png"),
        "png-rgb": "rgb.png",
        "array": m.astype(np.uint8),
    }
    for name, spec in forms.items():
        got = decode_true_mask(spec, size=(H, W), root=tmp_path)
        assert got.dtype == bool and got.shape == (H, W), name
        np.testing.assert_array_equal(got, m, err_msg=name)
    # a palette PNG with object ids (DAVIS): object 3 is the mask, object 5 is absent
    np.testing.assert_array_equal(
        decode_true_mask("pal.png", size=(H, W), root=tmp_path, object_id=3), m
    )
    assert not decode_true_mask("pal.png", size=(H, W), root=tmp_path, object_id=5).any()
    # two polygons: their union
    two = decode_true_mask(
        [[0, 0, 2, 0, 2, 2, 0, 2], [14, 10, 16, 10, 16, 12, 14, 12]], size=(H, W)
    )
    assert two.sum() == 8 and two[0:2, 0:2].all() and two[10:12, 14:16].all()


def _runs(m: np.ndarray) -> list[int]:
    """COCO's uncompressed runs, written here from the definition: column-major, starting
    with a run of zeros."""
    flat = m.T.reshape(-1).astype(int)
    runs, value, n = [], 0, 0
    for v in flat:
        if v == value:
            n += 1
        else:
            runs.append(n)
            value, n = v, 1
    runs.append(n)
    return runs


@pytest.mark.parametrize(
    ("spec", "size", "message"),
    [
        ([[0, 0, 5, 0, 5, 5]], None, "polygons need the image size"),
        ([[0, 0, 5, 0]], (H, W), "at least 3"),
        ([[0, 0, 5, 0, 5, float("nan")]], (H, W), "not a finite number"),
        ([[0, 0, 5, 0, 5, "x"]], (H, W), "not a finite number"),
        ({"size": [H, W], "counts": "not rle"}, None, "malformed"),
        ({"size": [2, 2], "counts": [1, 1]}, None, "summing to 4"),
        (
            {"size": [2, 2], "counts": [4]},
            (H, W),
            r"has shape \(2, 2\) but the image is \(12, 16\)",
        ),
        ("nowhere.png", None, "cannot read mask image"),
        (3.5, None, "expected a COCO RLE"),
        (np.zeros(4), None, r"shape \(H, W\)"),
    ],
)
def test_bad_masks_name_the_problem(
    spec: object, size: tuple | None, message: str, tmp_path: Path
) -> None:
    with pytest.raises(GroundTruthError, match=message):
        decode_true_mask(spec, size=size, root=tmp_path)


def test_media_shapes_keys_and_truth_preparation(tmp_path: Path) -> None:
    img = np.zeros((H, W, 3), np.uint8)
    Image.fromarray(img).save(tmp_path / "a.png")
    (tmp_path / "frames").mkdir()
    for i in range(3):
        Image.fromarray(img).save(tmp_path / "frames" / f"{i}.jpg")
    assert media_shape("a.png", False, tmp_path) == (H, W)
    assert media_shape("frames", True, tmp_path) == (3, H, W)
    assert media_shape([str(tmp_path / "a.png")] * 2, True, None) == (2, H, W)
    assert media_shape(np.zeros((4, H, W, 3), np.uint8), True, None) == (4, H, W)
    # keys: same pixels -> same key; a path resolves; an id is used as given
    assert media_key(img) == media_key(img.copy()) != media_key(img + 1)
    assert media_key("a.png", tmp_path) == media_key(str(tmp_path / "a.png"))
    t = prepare_mask_truth(
        {"mask": rle_of(rect()), "image_id": 7}, False, None, None, lambda key: img
    )
    assert t.key == "id:7" and t.mask.shape == (H, W) and not t.video
    v = prepare_mask_truth(
        {"masks": [rect()] * 3, "video": "frames", "fps": 2}, True, None, tmp_path
    )
    assert v.mask.shape == (3, H, W) and v.fps == 2.0 and v.video
    bad = [
        ({"image": img}, False, "needs field 'mask'"),
        ({"mask": rect()}, False, "needs 'image' or 'image_id'"),
        ({"mask": rect(), "image_id": "x"}, False, "by id only: pass media="),
        ({"mask": rect(), "image": img, "size": [3, 3]}, False, r"'size' is \[3, 3\]"),
        ({"mask": rect(), "image": np.zeros((H, W), np.uint8)}, False, r"\(H, W, 3\)"),
        ({"mask": rect(), "image": img.astype(np.float32)}, False, "uint8"),
        ({"mask": rect(), "image": "a.png", "object_id": "1"}, False, "object_id"),
        (
            {"masks": [rect()] * 2, "video": "frames", "fps": 2},
            True,
            "2 frame masks for a video of 3",
        ),
        ({"masks": [rect()] * 3, "video": "frames"}, True, "needs 'fps'"),
        ({"masks": [rect()] * 3, "video": "frames", "fps": float("inf")}, True, "needs 'fps'"),
        ({"masks": rect_json(), "video": "frames", "fps": 1}, True, "2 frame masks"),
        ({"masks": [rect()] * 3, "video": "a.png", "fps": 1}, True, "not a folder"),
    ]
    for obj, video, message in bad:
        with pytest.raises(GroundTruthError, match=message):
            prepare_mask_truth(obj, video, None, tmp_path)
    with pytest.raises(GroundTruthError, match="resolver failed for image 'k'"):
        prepare_mask_truth(
            {"mask": rect(), "image_id": "k"}, False, None, None, lambda key: {}[key]
        )
    with pytest.raises(GroundTruthError, match="found no image"):
        prepare_mask_truth({"mask": rect(), "image_id": "k"}, False, None, None, lambda key: None)


def rect_json() -> list:
    return [rle_of(rect()), rle_of(rect())]


class NotAPredictor:
    pass


def test_options_are_checked_and_the_default_is_unchanged() -> None:
    for kwargs, message in [
        ({"mode": "both"}, "mode"),
        ({"mask_weight": 1.5}, "mask_weight"),
        ({"video_metric": "f"}, "video_metric"),
        ({"cache_size": -1}, "cache_size"),
        ({"max_prompts": 0}, "max_prompts"),
        ({"image_protocol": "x"}, "image_protocol"),
        ({"missing_mask": "skip"}, "missing_mask"),
        ({"media": "not callable"}, "media"),
        ({}, "must be a Sam2MaskPredictor"),
    ]:
        with pytest.raises(ConfigurationError, match=message):
            Sam2MaskReward(NotAPredictor(), **kwargs)
    with pytest.raises(ConfigurationError, match=r"extra\['mask_model'\]"):
        score(
            "<answer>{}</answer>",
            "{}",
            "segmentation",
            data_type="image",
            extra={"mask_model": "sam2"},
        )
    # without mask_model: the point-kernel reward, and the mask fields are ignored
    truth = {
        "boxes": [0, 0, 100, 100],
        "positive_points": [[10, 10]] * 3,
        "negative_points": [[0, 0]] * 3,
    }
    answer = json.dumps(truth)
    plain = score(
        f"<think>t</think><answer>{answer}</answer>",
        dict(truth, mask=[[0, 0, 1, 0, 1, 1]]),
        "segmentation",
        data_type="image",
    )
    assert plain.accuracy == 1.0 and plain.total == 1.5
