"""Point kernels, trajectories and polygons against brute force, loops and shapely."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from unireward.geometry import (
    as_polygons,
    box_iou,
    mean_trajectory_iou,
    point_set_distance,
    point_set_similarity,
    polygon_iou,
    polygon_validity,
    ragged_mean_iou,
    rbox_to_polygon,
    trajectory_iou,
)

NAN, INF = float("nan"), float("inf")
GRID = st.floats(0, 1000, allow_nan=False, allow_infinity=False)
POINT = st.tuples(GRID, GRID).map(list)


def brute_distance(p: list[list[float]], g: list[list[float]]) -> float:
    k = len(p)
    best = min(
        sum(math.dist(p[i], g[j]) for i, j in enumerate(perm))
        for perm in itertools.permutations(range(k))
    )
    return best / k


def brute_similarity(p: list[list[float]], g: list[list[float]], sigma: float = 50.0) -> float:
    d = brute_distance(p, g)
    return math.exp(-(d**2) / (2 * sigma**2))


# ---- points --------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_point_distance_matches_brute_force_permutations(k: int) -> None:
    rng = random.Random(k)
    p = [[[rng.uniform(0, 1000), rng.uniform(0, 1000)] for _ in range(k)] for _ in range(300)]
    g = [[[rng.uniform(0, 1000), rng.uniform(0, 1000)] for _ in range(k)] for _ in range(300)]
    ours = point_set_distance(np.array(p), np.array(g))
    np.testing.assert_allclose(
        ours, [brute_distance(a, b) for a, b in zip(p, g, strict=True)], rtol=1e-12
    )
    sims = point_set_similarity(np.array(p), np.array(g))
    np.testing.assert_allclose(
        sims, [brute_similarity(a, b) for a, b in zip(p, g, strict=True)], rtol=1e-12
    )


def test_point_similarity_reference_case_and_sigma() -> None:
    truth = [[50, 50], [350, 350], [50, 350]]
    shifted = [[100, 100], [400, 400], [100, 400]]  # every point 70.71 away: exp(-1)
    assert float(point_set_similarity(shifted, truth)) == pytest.approx(math.exp(-1))
    assert float(point_set_similarity([[0, 0]], [[10, 0]], sigma=10)) == pytest.approx(
        math.exp(-0.5)
    )


@pytest.mark.parametrize(
    ("pred", "truth"),
    [
        pytest.param([[NAN, 0], [0, 0], [0, 0]], [[0, 0]] * 3, id="nan"),
        pytest.param([[INF, 0], [0, 0], [0, 0]], [[0, 0]] * 3, id="inf"),
        pytest.param([[INF, 0]] * 3, [[INF, 0]] * 3, id="inf-minus-inf"),
        pytest.param([[0, 0]] * 4 + [[NAN, 1]], [[0, 0]] * 5, id="nan-scipy-path"),
    ],
)
def test_point_kernel_non_finite_is_zero(pred: list, truth: list) -> None:
    assert math.isnan(float(point_set_distance(pred, truth)))
    assert float(point_set_similarity(pred, truth)) == 0.0


def test_point_kernel_empty_sets_and_shapes() -> None:
    assert float(point_set_similarity(np.zeros((0, 2)), np.zeros((0, 2)))) == 0.0
    assert point_set_similarity(np.zeros((4, 0, 2)), np.zeros((4, 0, 2))).tolist() == [0.0] * 4
    with pytest.raises(ValueError, match=r"same k, got \(3, 2\) and \(2, 2\)"):
        point_set_distance([[0, 0]] * 3, [[0, 0]] * 2)
    # broadcasting one truth over a batch
    assert point_set_similarity(np.zeros((5, 3, 2)), np.zeros((3, 2))).shape == (5,)


@settings(max_examples=150)
@given(
    st.lists(POINT, min_size=3, max_size=3),
    st.lists(POINT, min_size=3, max_size=3),
    st.permutations(range(3)),
)
def test_point_kernel_permutation_invariant_and_bounded(p: list, g: list, perm: list[int]) -> None:
    s = float(point_set_similarity(p, g))
    assert 0.0 < s <= 1.0
    assert float(point_set_similarity([p[i] for i in perm], g)) == pytest.approx(s, rel=1e-12)
    assert float(point_set_similarity(p, [g[i] for i in perm])) == pytest.approx(s, rel=1e-12)
    assert float(point_set_similarity(g, p)) == pytest.approx(s, rel=1e-12)
    assert float(point_set_similarity(p, p)) == 1.0


# ---- trajectories ----------------------------------------------------------------------


def test_trajectory_iou_against_a_loop() -> None:
    rng = random.Random(3)
    T = 12
    for _ in range(50):
        truth = [[rng.uniform(0, 500), rng.uniform(0, 500)] for _ in range(T)]
        truth = [[x, y, x + rng.uniform(1, 300), y + rng.uniform(1, 300)] for x, y in truth]
        pred = [[v + rng.gauss(0, 30) for v in b] for b in truth]
        for t in range(T):
            if rng.random() < 0.2:
                pred[t] = [NAN] * 4  # missing prediction
            if rng.random() < 0.2:
                truth[t] = [NAN] * 4  # frame not annotated
        per = trajectory_iou(pred, truth)
        scored = [t for t in range(T) if not math.isnan(truth[t][0])]
        expected = [
            0.0 if math.isnan(pred[t][0]) else float(box_iou(pred[t], truth[t])) for t in scored
        ]
        np.testing.assert_allclose(per[scored], expected)
        assert np.isnan(per[[t for t in range(T) if t not in scored]]).all()
        mean = float(mean_trajectory_iou(pred, truth))
        assert mean == pytest.approx(sum(expected) / len(expected) if expected else 0.0)


def test_trajectory_masks_and_ragged_mean_agree() -> None:
    rng = random.Random(4)
    n, T = 30, 8
    pred = rng_boxes(rng, (n, T))
    truth = rng_boxes(rng, (n, T))
    pm = np.array([[rng.random() < 0.7 for _ in range(T)] for _ in range(n)])
    lengths = [rng.randint(0, T) for _ in range(n)]
    gm = np.array([[t < length for t in range(T)] for length in lengths])
    padded = mean_trajectory_iou(pred, truth, pm, gm)
    owner = [i for i in range(n) for t in range(T) if pm[i, t] and gm[i, t]]
    flat_p = [pred[i, t] for i in range(n) for t in range(T) if pm[i, t] and gm[i, t]]
    flat_g = [truth[i, t] for i in range(n) for t in range(T) if pm[i, t] and gm[i, t]]
    ragged = ragged_mean_iou(
        np.array(flat_p).reshape(-1, 4), np.array(flat_g).reshape(-1, 4), owner, lengths
    )
    np.testing.assert_allclose(padded, ragged)
    assert padded[np.array(lengths) == 0].tolist() == [0.0] * lengths.count(0)
    with pytest.raises(ValueError, match="one row per pair"):
        ragged_mean_iou(np.zeros((2, 4)), np.zeros((2, 4)), [0], [1])


def rng_boxes(rng: random.Random, shape: tuple[int, ...]) -> np.ndarray:
    xy = np.array([rng.uniform(0, 500) for _ in range(int(np.prod(shape)) * 2)]).reshape(*shape, 2)
    wh = np.array([rng.uniform(1, 300) for _ in range(int(np.prod(shape)) * 2)]).reshape(*shape, 2)
    return np.concatenate([xy, xy + wh], axis=-1)


# ---- polygons --------------------------------------------------------------------------


def random_convex(rng: random.Random, k: int) -> list[list[float]]:
    cx, cy, r = rng.uniform(100, 900), rng.uniform(100, 900), rng.uniform(10, 200)
    angles = sorted(rng.uniform(0, 2 * math.pi) for _ in range(k))
    return [[cx + r * math.cos(a), cy + r * math.sin(a)] for a in angles]


def shapely_iou(p: list[list[float]], g: list[list[float]]) -> float:
    a, b = shapely.Polygon(p), shapely.Polygon(g)
    return a.intersection(b).area / a.union(b).area


def test_polygon_iou_matches_shapely_objects_on_ragged_batches() -> None:
    rng = random.Random(5)
    preds = [random_convex(rng, rng.randint(3, 9)) for _ in range(300)]
    gts = [random_convex(rng, rng.randint(3, 9)) for _ in range(300)]
    ours = polygon_iou(preds, gts)
    np.testing.assert_allclose(
        ours, [shapely_iou(p, g) for p, g in zip(preds, gts, strict=True)], atol=1e-9
    )


def test_polygon_iou_of_axis_aligned_boxes_equals_box_iou() -> None:
    rng = random.Random(6)
    boxes = rng_boxes(rng, (200, 2))
    quads = [[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]] for b in boxes.reshape(-1, 4)]
    ours = polygon_iou(np.array(quads[0::2]), np.array(quads[1::2]))
    np.testing.assert_allclose(ours, box_iou(boxes[:, 0], boxes[:, 1]), atol=1e-9)


def test_polygon_degenerate_inputs() -> None:
    square = [[0, 0], [2, 0], [2, 2], [0, 2]]
    bowtie = [[0, 0], [2, 2], [2, 0], [0, 2]]
    assert float(polygon_iou(square, square)) == 1.0
    assert float(polygon_iou(bowtie, square)) == 0.0
    assert (
        float(polygon_iou([[0, 0], [1, 1], [2, 2]], [[0, 0], [1, 1], [2, 2]])) == 0.0
    )  # zero area
    assert float(polygon_iou([[0, 0], [1, 0]], square)) == 0.0  # too few vertices
    assert float(polygon_iou([[0, 0], [NAN, 0], [0, 1]], square)) == 0.0
    ok, why = polygon_validity([square, bowtie, [[0, 0], [1, 0]]])
    assert ok.tolist() == [True, False, False]
    assert why[1].startswith("Self-intersection") and why[2] == "empty polygon"
    assert as_polygons(shapely.box(0, 0, 1, 1))[0].area == 1.0


def test_rbox_to_polygon_against_shapely_rotate() -> None:
    rng = random.Random(7)
    for _ in range(50):
        cx, cy, w, h, ang = (
            rng.uniform(0, 1000),
            rng.uniform(0, 1000),
            rng.uniform(1, 300),
            rng.uniform(1, 300),
            rng.uniform(-180, 180),
        )
        ours = shapely.Polygon(rbox_to_polygon([cx, cy, w, h, ang]))
        ref = shapely.affinity.rotate(
            shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), ang, origin=(cx, cy)
        )
        assert ours.symmetric_difference(ref).area < 1e-6 * w * h
    assert rbox_to_polygon(np.zeros((3, 2, 5))).shape == (3, 2, 4, 2)


@settings(max_examples=60)
@given(st.integers(0, 10**6), st.floats(-500, 500), st.floats(-500, 500), st.floats(0.1, 10))
def test_polygon_iou_properties(seed: int, dx: float, dy: float, k: float) -> None:
    rng = random.Random(seed)
    p, g = random_convex(rng, rng.randint(3, 7)), random_convex(rng, rng.randint(3, 7))
    x = float(polygon_iou(p, g))
    assert 0.0 <= x <= 1.0
    assert x == pytest.approx(float(polygon_iou(g, p)), abs=1e-12)
    assert float(polygon_iou(p, p)) == pytest.approx(1.0)
    move = lambda poly: [[a + dx, b + dy] for a, b in poly]  # noqa: E731
    grow = lambda poly: [[a * k, b * k] for a, b in poly]  # noqa: E731
    assert float(polygon_iou(move(p), move(g))) == pytest.approx(x, abs=1e-6)
    assert float(polygon_iou(grow(p), grow(g))) == pytest.approx(x, abs=1e-6)
