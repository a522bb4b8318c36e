"""Mask metrics against independent references: plain loops, hand-made boundary cases and
pycocotools' own IoU; hypothesis properties for bounds and symmetry."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from unireward.geometry.masks import (
    as_mask,
    boundary_f,
    boundary_map,
    boundary_radius,
    ciou,
    decode_rle,
    giou,
    j_and_f,
    mask_iou,
    mask_set_scores,
    video_mask_scores,
)

from ._sam2_helpers import require

# --------------------------------------------------------------------------------------
# Independent references, written from the definitions with plain Python loops
# --------------------------------------------------------------------------------------


def loop_counts(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    inter = union = 0
    for x, y in zip(a.ravel().tolist(), b.ravel().tolist(), strict=True):
        inter += bool(x) and bool(y)
        union += bool(x) or bool(y)
    return inter, union


def loop_iou(a: np.ndarray, b: np.ndarray) -> float:
    inter, union = loop_counts(a, b)
    return inter / union if union else 1.0


def loop_boundary(m: np.ndarray) -> list[list[bool]]:
    """DAVIS boundary: differs from the right, lower or lower-right neighbour, where a
    neighbour beyond the right or bottom edge is clamped to the edge pixel."""
    h, w = m.shape
    out = [[False] * w for _ in range(h)]
    for y in range(h):
        for x in range(w):
            v = bool(m[y, x])
            for dy, dx in ((0, 1), (1, 0), (1, 1)):
                ny, nx = min(y + dy, h - 1), min(x + dx, w - 1)
                if bool(m[ny, nx]) != v:
                    out[y][x] = True
    return out


def loop_boundary_f(a: np.ndarray, b: np.ndarray, tolerance: float = 0.0075) -> float:
    """Boundary F with the match distance checked pixel pair by pixel pair."""
    h, w = a.shape
    r = math.ceil(tolerance * math.sqrt(h * h + w * w))
    pa = [(y, x) for y, row in enumerate(loop_boundary(a)) for x, v in enumerate(row) if v]
    pb = [(y, x) for y, row in enumerate(loop_boundary(b)) for x, v in enumerate(row) if v]
    if not pa and not pb:
        return 1.0
    if not pa or not pb:
        return 0.0

    def near(p: tuple[int, int], others: list[tuple[int, int]]) -> bool:
        return any((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 <= r * r for q in others)

    precision = sum(near(p, pb) for p in pa) / len(pa)
    recall = sum(near(p, pa) for p in pb) / len(pb)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def square(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


MASKS = arrays(bool, (9, 11))
FLOAT_MASKS = arrays(np.float64, (6, 7), elements=st.sampled_from([0.0, 0.25, 1.0, -2.0]))

# --------------------------------------------------------------------------------------
# IoU
# --------------------------------------------------------------------------------------


@given(MASKS, MASKS)
@settings(max_examples=150, deadline=None)
def test_mask_iou_matches_the_loop_is_symmetric_and_bounded(a: np.ndarray, b: np.ndarray) -> None:
    v = float(mask_iou(a, b))
    assert v == pytest.approx(loop_iou(a, b))
    assert v == float(mask_iou(b, a))
    assert 0.0 <= v <= 1.0
    assert float(mask_iou(a, a)) == 1.0


@given(FLOAT_MASKS, FLOAT_MASKS)
@settings(max_examples=50, deadline=None)
def test_non_zero_values_are_foreground(a: np.ndarray, b: np.ndarray) -> None:
    assert float(mask_iou(a, b)) == pytest.approx(loop_iou(a != 0, b != 0))


@pytest.mark.parametrize(
    ("pred", "target", "expected"),
    [
        pytest.param(np.zeros((3, 3)), np.zeros((3, 3)), 1.0, id="both-empty"),
        pytest.param(np.zeros((3, 3)), np.eye(3), 0.0, id="empty-prediction"),
        pytest.param(np.eye(3), np.zeros((3, 3)), 0.0, id="empty-target"),
        pytest.param(np.eye(3), np.eye(3)[::-1], 1 / 5, id="diagonals-share-the-centre"),
        pytest.param(square(4, 4, 0, 2, 0, 4), square(4, 4, 1, 3, 0, 4), 4 / 12, id="rows-overlap"),
        pytest.param(square(4, 4, 0, 2, 0, 2), square(4, 4, 2, 4, 2, 4), 0.0, id="disjoint"),
    ],
)
def test_mask_iou_named_cases(pred: np.ndarray, target: np.ndarray, expected: float) -> None:
    assert float(mask_iou(pred, target)) == pytest.approx(expected)


def test_mask_iou_batches_and_broadcasts() -> None:
    rng = np.random.default_rng(1)
    preds = rng.random((5, 3, 8, 8)) > 0.5
    target = rng.random((8, 8)) > 0.5
    got = mask_iou(preds, target)
    assert got.shape == (5, 3)
    expected = [[loop_iou(preds[i, j], target) for j in range(3)] for i in range(5)]
    assert np.allclose(got, expected)


def test_mask_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match=r"got shape \(4,\)"):
        mask_iou(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="sizes differ"):
        mask_iou(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"\(T, H, W\)"):
        as_mask(np.ones((2, 2)), "video", 3)


# --------------------------------------------------------------------------------------
# gIoU / cIoU
# --------------------------------------------------------------------------------------


def test_giou_and_ciou_by_hand() -> None:
    # image 1: a 2x2 object fully found (IoU 1); image 2: a 10x10 object half found
    small, big = square(4, 4, 0, 2, 0, 2), square(20, 20, 0, 10, 0, 10)
    half = square(20, 20, 0, 5, 0, 10)
    assert giou([small, half], [small, big]) == pytest.approx((1.0 + 0.5) / 2)
    assert ciou([small, half], [small, big]) == pytest.approx((4 + 50) / (4 + 100))
    s = mask_set_scores([small, half], [small, big])
    assert s.intersections.tolist() == [4, 50] and s.unions.tolist() == [4, 100]


def test_empty_pairs_in_a_set() -> None:
    z = np.zeros((3, 3), bool)
    full = np.ones((3, 3), bool)
    assert giou([z, z], [z, z]) == 1.0 and ciou([z, z], [z, z]) == 1.0
    # an empty pair scores 1 in gIoU and adds nothing to cIoU
    assert giou([z, full], [z, full]) == 1.0 and ciou([z, np.eye(3)], [z, full]) == pytest.approx(
        3 / 9
    )


@given(st.lists(st.tuples(MASKS, MASKS), min_size=1, max_size=5))
@settings(max_examples=60, deadline=None)
def test_set_measures_match_loops(pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
    preds, targets = [p for p, _ in pairs], [t for _, t in pairs]
    counts = [loop_counts(p, t) for p, t in pairs]
    assert giou(preds, targets) == pytest.approx(np.mean([loop_iou(p, t) for p, t in pairs]))
    total_union = sum(u for _, u in counts)
    expected = sum(i for i, _ in counts) / total_union if total_union else 1.0
    assert ciou(preds, targets) == pytest.approx(expected)
    assert 0.0 <= ciou(preds, targets) <= 1.0
    assert ciou(targets, preds) == pytest.approx(ciou(preds, targets))


def test_set_errors() -> None:
    with pytest.raises(ValueError, match="no masks"):
        giou([], [])
    with pytest.raises(ValueError, match="2 predicted masks for 1"):
        ciou([np.ones((2, 2))] * 2, [np.ones((2, 2))])
    with pytest.raises(ValueError, match="sizes differ at 1"):
        giou([np.ones((2, 2)), np.ones((2, 3))], [np.ones((2, 2)), np.ones((3, 2))])


# --------------------------------------------------------------------------------------
# Boundaries
# --------------------------------------------------------------------------------------


def test_boundary_map_hand_cases() -> None:
    # a 3x3 square at rows/cols 2..4: its right column and bottom row inside, plus the
    # row above and the column to the left (the outline's other side): 5 + 7 pixels
    got = boundary_map(square(7, 7, 2, 5, 2, 5)).astype(int).tolist()
    assert got == [
        [0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 1, 0, 0],
        [0, 1, 0, 0, 1, 0, 0],
        [0, 1, 0, 0, 1, 0, 0],
        [0, 1, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ]
    # one pixel: itself and the three pixels above / left of it that see it
    assert np.argwhere(boundary_map(square(3, 3, 1, 2, 1, 2))).tolist() == [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
    ]
    # the image border is not a boundary: left half -> only its last column
    left = square(5, 6, 0, 5, 0, 3)
    assert np.argwhere(boundary_map(left)).tolist() == [[y, 2] for y in range(5)]
    top = square(4, 5, 0, 2, 0, 5)
    assert np.argwhere(boundary_map(top)).tolist() == [[1, x] for x in range(5)]
    assert not boundary_map(np.ones((4, 4))).any() and not boundary_map(np.zeros((4, 4))).any()


@given(MASKS)
@settings(max_examples=100, deadline=None)
def test_boundary_map_matches_the_loop(m: np.ndarray) -> None:
    assert boundary_map(m).tolist() == loop_boundary(m)


def test_boundary_radius() -> None:
    # sqrt(480^2 + 854^2) = 979.6 -> 7.35 -> 8; sqrt(2) * 64 = 90.5 -> 0.68 -> 1
    assert boundary_radius((480, 854)) == 8
    assert boundary_radius((64, 64)) == 1
    assert boundary_radius((480, 854), tolerance=0.0) == 0
    with pytest.raises(ValueError, match="tolerance"):
        boundary_radius((4, 4), tolerance=float("nan"))


def test_boundary_f_hand_cases() -> None:
    # a 20x20 square in a 40x40 image: its boundary is an 80-pixel loop (top row 21,
    # left column 20, right column 20, bottom row 19); tolerance ceil(0.0075 * 56.6) = 1
    m = square(40, 40, 10, 30, 10, 30)
    assert int(boundary_map(m).sum()) == 80
    assert boundary_f(m, np.roll(m, 1, axis=1)) == 1.0  # every pixel within 1
    # exact matching (radius 0), shift 1: precision = recall = 40 / 80 each way (20 of the
    # top row, 18 of the bottom row, and 2 pixels where a side column meets a bottom row)
    assert boundary_f(m, np.roll(m, 1, axis=1), tolerance=0.0) == pytest.approx(0.5)
    # radius 1, shift 5: top row 17, bottom row 16 and 3 side pixels match each way: 36 / 80
    assert boundary_f(m, np.roll(m, 5, axis=1)) == pytest.approx(0.45)
    z = np.zeros_like(m)
    assert boundary_f(z, z) == 1.0  # nothing to find, nothing predicted
    assert boundary_f(m, z) == 0.0 and boundary_f(z, m) == 0.0
    assert boundary_f(np.ones_like(m), z) == 1.0  # neither has a boundary pixel


@given(MASKS, MASKS)
@settings(max_examples=80, deadline=None)
def test_boundary_f_matches_the_pairwise_reference(a: np.ndarray, b: np.ndarray) -> None:
    v = float(boundary_f(a, b))
    assert v == pytest.approx(loop_boundary_f(a, b))
    assert 0.0 <= v <= 1.0
    assert v == pytest.approx(float(boundary_f(b, a)))
    assert float(boundary_f(a, a)) == 1.0


def test_boundary_f_with_a_wide_tolerance_matches_the_reference() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.random((15, 15)) > 0.7, rng.random((15, 15)) > 0.7
    assert float(boundary_f(a, b, tolerance=0.1)) == pytest.approx(loop_boundary_f(a, b, 0.1))


def dilation_boundary_f(a: np.ndarray, b: np.ndarray, radius: int) -> float:
    """Boundary F with scipy's binary dilation by a disk (the DAVIS recipe)."""
    from scipy.ndimage import binary_dilation

    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    disk = x * x + y * y <= radius * radius
    ba, bb = np.array(loop_boundary(a)), np.array(loop_boundary(b))
    precision = (ba & binary_dilation(bb, structure=disk)).sum() / ba.sum()
    recall = (bb & binary_dilation(ba, structure=disk)).sum() / bb.sum()
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("seed", range(4))
def test_boundary_f_matches_a_disk_dilation_at_video_size(seed: int) -> None:
    # 480x854: radius 8; blobs made of random rectangles, shifted and grown
    rng = np.random.default_rng(seed)
    a = np.zeros((480, 854), bool)
    for _ in range(4):
        y, x, hh, ww = (
            rng.integers(0, 400),
            rng.integers(0, 780),
            rng.integers(5, 80),
            rng.integers(5, 80),
        )
        a[y : y + hh, x : x + ww] = True
    b = np.roll(a, (int(rng.integers(-12, 12)), int(rng.integers(-12, 12))), axis=(0, 1))
    b[rng.random(b.shape) > 0.999] = True  # specks: boundary pixels far from any other
    assert float(boundary_f(a, b)) == pytest.approx(dilation_boundary_f(a, b, 8), abs=1e-12)


def test_boundary_f_over_leading_axes() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.random((2, 3, 10, 10)) > 0.5, rng.random((2, 3, 10, 10)) > 0.5
    got = boundary_f(a, b)
    assert got.shape == (2, 3)
    assert np.allclose(
        got, [[loop_boundary_f(a[i, j], b[i, j]) for j in range(3)] for i in range(2)]
    )


# --------------------------------------------------------------------------------------
# Video
# --------------------------------------------------------------------------------------


def test_video_scores_by_hand() -> None:
    obj = square(8, 8, 2, 6, 2, 6)
    z = np.zeros((8, 8), bool)
    pred = np.stack([obj, z, z, obj])
    truth = np.stack([obj, obj, z, z])
    s = video_mask_scores(pred, truth)
    # found; missed; both empty (1 by convention); predicted where nothing is
    assert s.j.tolist() == [1.0, 0.0, 1.0, 0.0]
    assert s.f.tolist() == [1.0, 0.0, 1.0, 0.0]
    assert s.precision.tolist() == [1.0, 1.0, 1.0, 0.0] and s.recall.tolist() == [
        1.0,
        0.0,
        1.0,
        1.0,
    ]
    assert j_and_f(pred, truth) == {"J": 0.5, "F": 0.5, "J&F": 0.5}


@given(arrays(bool, (3, 8, 9)), arrays(bool, (3, 8, 9)))
@settings(max_examples=30, deadline=None)
def test_video_measures_are_frame_means(p: np.ndarray, t: np.ndarray) -> None:
    r = j_and_f(p, t)
    j = np.mean([loop_iou(a, b) for a, b in zip(p, t, strict=True)])
    f = np.mean([loop_boundary_f(a, b) for a, b in zip(p, t, strict=True)])
    assert r["J"] == pytest.approx(j) and r["F"] == pytest.approx(f)
    assert r["J&F"] == pytest.approx((j + f) / 2)
    assert 0.0 <= r["J&F"] <= 1.0


def test_video_shape_errors() -> None:
    with pytest.raises(ValueError, match="differ"):
        j_and_f(np.zeros((2, 4, 4)), np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="at least one frame"):
        j_and_f(np.zeros((0, 4, 4)), np.zeros((0, 4, 4)))
    with pytest.raises(ValueError, match=r"\(T, H, W\)"):
        j_and_f(np.zeros((4, 4)), np.zeros((4, 4)))


# --------------------------------------------------------------------------------------
# RLE (pycocotools)
# --------------------------------------------------------------------------------------


def _encode(m: np.ndarray) -> dict:
    mask_utils = require("pycocotools.mask")
    return mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))


@given(arrays(bool, st.tuples(st.integers(1, 12), st.integers(1, 12))))
@settings(max_examples=80, deadline=None)
def test_rle_round_trip_bytes_and_json_text(m: np.ndarray) -> None:
    rle = _encode(m)
    assert np.array_equal(decode_rle(rle), m)
    as_json = json.loads(json.dumps({"size": rle["size"], "counts": rle["counts"].decode()}))
    assert np.array_equal(decode_rle(as_json), m)


def test_rle_iou_agrees_with_pycocotools() -> None:
    mask_utils = require("pycocotools.mask")
    rng = np.random.default_rng(0)
    ms = [rng.random((30, 40)) > p for p in (0.3, 0.5, 0.8)]
    rles = [_encode(m) for m in ms]
    ref = mask_utils.iou(rles, rles, [0, 0, 0])
    ours = [[float(mask_iou(decode_rle(a), decode_rle(b))) for b in rles] for a in rles]
    assert np.allclose(ours, ref)


def test_uncompressed_rle() -> None:
    require("pycocotools")
    # column-major runs: 1 off, 2 on, 3 off over a 2x3 image -> (1,0) (0,1) on
    assert decode_rle({"size": [2, 3], "counts": [1, 2, 3]}).astype(int).tolist() == [
        [0, 1, 0],
        [1, 0, 0],
    ]


@pytest.mark.parametrize(
    "rle",
    [
        pytest.param({"size": [2, 3]}, id="no-counts"),
        pytest.param({"counts": "0"}, id="no-size"),
        pytest.param({"size": [2, 3], "counts": [1, 2]}, id="runs-too-short"),
        pytest.param({"size": [2, 3], "counts": [4, 5]}, id="runs-too-long"),
        pytest.param({"size": [2, 3], "counts": [-1, 7]}, id="negative-run"),
        pytest.param({"size": [2, 3], "counts": "o"}, id="string-ends-mid-run"),
        pytest.param({"size": [2, 3], "counts": "0\x7f"}, id="bad-character"),
        pytest.param({"size": [2, 3], "counts": "6\u00e9"}, id="not-ascii"),
        pytest.param({"size": [2, 3], "counts": "9"}, id="string-overruns"),
        pytest.param({"size": [2, 3], "counts": 5}, id="counts-not-a-list-or-text"),
    ],
)
def test_bad_rle_raises_value_error(rle: dict) -> None:
    require("pycocotools")
    with pytest.raises(ValueError):
        decode_rle(rle)


@given(st.text(alphabet=st.characters(min_codepoint=40, max_codepoint=120), max_size=30),
       st.integers(0, 6), st.integers(0, 6))
@settings(max_examples=300, deadline=None)
def test_arbitrary_compressed_counts_decode_or_raise(counts: str, h: int, w: int) -> None:
    require("pycocotools")
    try:
        m = decode_rle({"size": [h, w], "counts": counts})
    except ValueError:
        return
    assert m.shape == (h, w) and m.dtype == bool
