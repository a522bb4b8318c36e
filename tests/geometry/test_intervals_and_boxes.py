"""Interval and box IoU against independent references (plain loops, shapely), plus
hypothesis properties."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from unireward.geometry import (
    box_area,
    box_iou,
    box_iou_pairwise,
    interval_iou,
    keyframe_similarity,
)

NAN, INF = float("nan"), float("inf")
COORD = st.floats(-1000, 1000, allow_nan=False, allow_infinity=False)
SHIFT = st.floats(-1000, 1000, allow_nan=False, allow_infinity=False)
SCALE = st.floats(0.01, 100, allow_nan=False, allow_infinity=False)


def loop_interval_iou(p: list[float], g: list[float]) -> float:
    """The spec's 1-D IoU, one pair at a time."""
    if not all(math.isfinite(v) for v in (*p, *g)):
        return 0.0
    inter = max(0.0, min(p[1], g[1]) - max(p[0], g[0]))
    union = max(p[1], g[1]) - min(p[0], g[0])
    return inter / union if union > 1e-12 else 0.0


def shapely_box_iou(p: list[float], g: list[float]) -> float:
    """Box IoU by polygon clipping; a box with swapped corners has no area."""
    if not all(math.isfinite(v) for v in (*p, *g)):
        return 0.0

    def geom(b: list[float]) -> shapely.Geometry:
        return shapely.box(*b) if b[2] > b[0] and b[3] > b[1] else shapely.Polygon()

    a, b = geom(p), geom(g)
    union = a.area + b.area - a.intersection(b).area
    return a.intersection(b).area / union if union > 0 else 0.0


def random_box(rng: random.Random, ordered: bool) -> list[float]:
    v = [rng.choice([rng.uniform(0, 1000), float(rng.randint(0, 20))]) for _ in range(4)]
    if ordered:
        v = [min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3])]
    return v


# ---- intervals ---------------------------------------------------------------------


def test_interval_iou_matches_a_plain_loop_on_random_batches() -> None:
    rng = random.Random(0)
    pairs = []
    for _ in range(5000):
        p = [rng.uniform(-50, 150), rng.uniform(-50, 150)]
        g = [rng.uniform(-50, 150), rng.uniform(-50, 150)]
        if rng.random() < 0.1:
            p[1] = p[0]  # zero length
        if rng.random() < 0.05:
            p[rng.randrange(2)] = rng.choice([NAN, INF, -INF])
        pairs.append((p, g))
    ours = interval_iou(np.array([p for p, _ in pairs]), np.array([g for _, g in pairs]))
    assert ours.shape == (5000,)
    np.testing.assert_allclose(
        ours, [loop_interval_iou(p, g) for p, g in pairs], rtol=0, atol=1e-12
    )


@pytest.mark.parametrize(
    ("pred", "truth", "expected"),
    [
        pytest.param([0, 10], [0, 10], 1.0, id="identical"),
        pytest.param([0, 10], [5, 15], 5 / 15, id="overlap"),
        pytest.param([0, 5], [5, 10], 0.0, id="touching"),
        pytest.param([10, 0], [0, 10], 0.0, id="swapped-pred"),
        pytest.param([0, 10], [10, 0], 0.0, id="swapped-truth"),
        pytest.param([3, 3], [3, 3], 0.0, id="both-zero-length"),
        pytest.param([3, 3], [0, 10], 0.0, id="zero-length-inside"),
        pytest.param([0, 1e-13], [0, 1e-13], 0.0, id="union-below-eps"),
        pytest.param([NAN, 10], [0, 10], 0.0, id="nan"),
        pytest.param([0, INF], [0, INF], 0.0, id="inf-both"),
        pytest.param([-INF, 10], [0, 10], 0.0, id="minus-inf"),
    ],
)
def test_interval_iou_named_cases(pred: list[float], truth: list[float], expected: float) -> None:
    assert float(interval_iou(pred, truth)) == pytest.approx(expected, abs=1e-15)


def test_interval_iou_broadcasts_and_checks_shape() -> None:
    out = interval_iou([[0, 10], [0, 5]], [0, 10])
    assert out.tolist() == [1.0, 0.5]
    assert isinstance(interval_iou([0, 1], [0, 1]), np.floating)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\), got shape \(3,\)"):
        interval_iou([0, 1, 2], [0, 1])
    assert interval_iou(np.zeros((0, 2)), np.zeros((0, 2))).shape == (0,)


@given(COORD, COORD, COORD, COORD)
def test_interval_iou_bounded_and_symmetric(a: float, b: float, c: float, d: float) -> None:
    x = float(interval_iou([a, b], [c, d]))
    assert 0.0 <= x <= 1.0
    assert x == float(interval_iou([c, d], [a, b]))


@given(COORD, st.floats(0.01, 500), SHIFT, SCALE)
def test_interval_iou_identity_translation_scale(
    s: float, length: float, shift: float, k: float
) -> None:
    p = [s, s + length]
    assert float(interval_iou(p, p)) == pytest.approx(1.0)
    g = [s + length / 3, s + 2 * length]
    base = float(interval_iou(p, g))
    moved = float(interval_iou([v + shift for v in p], [v + shift for v in g]))
    scaled = float(interval_iou([v * k for v in p], [v * k for v in g]))
    assert moved == pytest.approx(base, abs=1e-9)
    assert scaled == pytest.approx(base, abs=1e-9)


def test_keyframe_similarity() -> None:
    assert float(keyframe_similarity(3.0, 3.0)) == 1.0
    assert float(keyframe_similarity(1.0, 3.0)) == pytest.approx(math.exp(-1))
    assert float(keyframe_similarity(0.0, 1.0, scale=1.0)) == pytest.approx(math.exp(-1))
    out = keyframe_similarity([NAN, INF, 0.0], [0.0, 0.0, INF])
    assert out.tolist() == [0.0, 0.0, 0.0]


# ---- boxes -------------------------------------------------------------------------


def test_box_iou_matches_shapely_on_random_batches() -> None:
    rng = random.Random(1)
    preds = [random_box(rng, rng.random() < 0.8) for _ in range(3000)]
    gts = [random_box(rng, rng.random() < 0.8) for _ in range(3000)]
    for i in range(0, 3000, 50):  # some exact copies, some non-finite values
        gts[i] = list(preds[i])
        preds[i + 1][rng.randrange(4)] = rng.choice([NAN, INF, -INF])
    ours = box_iou(np.array(preds), np.array(gts))
    ref = [shapely_box_iou(p, g) for p, g in zip(preds, gts, strict=True)]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)


def test_box_iou_pairwise_matches_elementwise_and_shapely() -> None:
    rng = random.Random(2)
    a = np.array([random_box(rng, True) for _ in range(40)])
    b = np.array([random_box(rng, True) for _ in range(30)])
    m = box_iou_pairwise(a, b)
    assert m.shape == (40, 30)
    for i in range(0, 40, 7):
        for j in range(0, 30, 5):
            assert m[i, j] == pytest.approx(shapely_box_iou(list(a[i]), list(b[j])), abs=1e-9)
            assert m[i, j] == float(box_iou(a[i], b[j]))
    with pytest.raises(ValueError, match="got \\(4,\\) and \\(1, 4\\)"):
        box_iou_pairwise([0, 0, 1, 1], [[0, 0, 1, 1]])


@pytest.mark.parametrize(
    ("pred", "truth", "expected"),
    [
        pytest.param([0, 0, 10, 10], [0, 0, 10, 10], 1.0, id="identical"),
        pytest.param([0, 0, 10, 10], [0, 0, 10, 5], 0.5, id="half"),
        pytest.param([0, 0, 10, 10], [10, 0, 20, 10], 0.0, id="touching"),
        pytest.param([10, 10, 0, 0], [0, 0, 10, 10], 0.0, id="swapped-corners"),
        pytest.param([0, 10, 10, 0], [0, 0, 10, 10], 0.0, id="swapped-y"),
        pytest.param([5, 5, 5, 5], [5, 5, 5, 5], 0.0, id="two-points"),
        pytest.param([0, 0, 10, 0], [0, 0, 10, 10], 0.0, id="zero-height"),
        pytest.param([0, 0, NAN, 10], [0, 0, 10, 10], 0.0, id="nan"),
        pytest.param([0, 0, INF, INF], [0, 0, INF, INF], 0.0, id="inf"),
        pytest.param([-INF, 0, 10, 10], [0, 0, 10, 10], 0.0, id="minus-inf"),
        pytest.param([0, 0, 1e308, 1e308], [0, 0, 1e308, 1e308], 0.0, id="overflowing-area"),
    ],
)
def test_box_iou_named_cases(pred: list[float], truth: list[float], expected: float) -> None:
    assert float(box_iou(pred, truth)) == pytest.approx(expected, abs=1e-15)


def test_box_area_and_shapes() -> None:
    assert box_area([[0, 0, 2, 3], [2, 0, 0, 3], [0, 0, 0, 0]]).tolist() == [6.0, 0.0, 0.0]
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 4\), got shape \(2, 3\)"):
        box_iou(np.zeros((2, 3)), np.zeros((2, 4)))
    assert box_iou(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0,)
    assert box_iou(np.zeros((2, 3, 4)), np.zeros((3, 4))).shape == (2, 3)


BOX = st.tuples(COORD, COORD, st.floats(0.01, 500), st.floats(0.01, 500)).map(
    lambda t: [t[0], t[1], t[0] + t[2], t[1] + t[3]]
)
ANY_BOX = st.lists(COORD, min_size=4, max_size=4)


@given(ANY_BOX, ANY_BOX)
def test_box_iou_bounded_and_symmetric(p: list[float], g: list[float]) -> None:
    x = float(box_iou(p, g))
    assert 0.0 <= x <= 1.0
    assert x == float(box_iou(g, p))


@settings(max_examples=200)
@given(BOX, BOX, SHIFT, SHIFT, SCALE)
def test_box_iou_identity_translation_scale(
    p: list[float], g: list[float], dx: float, dy: float, k: float
) -> None:
    assert float(box_iou(p, p)) == pytest.approx(1.0)
    base = float(box_iou(p, g))

    def move(b: list[float]) -> list[float]:
        return [b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy]

    assert float(box_iou(move(p), move(g))) == pytest.approx(base, abs=1e-6)
    assert float(box_iou([v * k for v in p], [v * k for v in g])) == pytest.approx(base, abs=1e-6)


# ---- the one-pair twins: the same doubles as the array formulas ------------------------

_EDGE = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, -1e-300, 1e150, -1e150, 1e-12, 2e-12]),
    st.integers(-1000, 1000).map(float),
)


def _same_double(a: float, b: float) -> bool:
    return struct_bits(a) == struct_bits(b)


@given(st.lists(_EDGE, min_size=4, max_size=4), st.lists(_EDGE, min_size=4, max_size=4))
@settings(max_examples=3000, deadline=None)
def test_iou_one_box_is_the_array_formula_bit_for_bit(p: list[float], g: list[float]) -> None:
    from unireward.geometry import iou_one_box

    want = float(box_iou(p, g)) + 0.0
    got = iou_one_box(p, g)
    assert type(got) is float and _same_double(got, want), (p, g, got, want)
    # shared corners: equal, nested and touching boxes
    assert _same_double(iou_one_box(p, p), float(box_iou(p, p)) + 0.0)


@given(st.lists(_EDGE, min_size=2, max_size=2), st.lists(_EDGE, min_size=2, max_size=2))
@settings(max_examples=3000, deadline=None)
def test_iou_one_interval_is_the_array_formula_bit_for_bit(p: list[float], g: list[float]) -> None:
    from unireward.geometry import iou_one_interval

    want = float(interval_iou(p, g)) + 0.0
    got = iou_one_interval(p, g)
    assert type(got) is float and _same_double(got, want), (p, g, got, want)
    assert _same_double(iou_one_interval(p, p), float(interval_iou(p, p)) + 0.0)


def test_small_batches_equal_the_array_path() -> None:
    """A scorer's NumPy-free path for small batches gives the doubles of the array path
    (forced here by scoring the same items inside a large batch)."""
    import random

    from unireward.tasks.base import ScoreOptions
    from unireward.tasks.grounding import SpatialGroundingScorer, TemporalGroundingScorer

    rng = random.Random(5)
    opts = ScoreOptions()
    for scorer, make in (
        (
            SpatialGroundingScorer(),
            lambda: [
                rng.choice([rng.uniform(-50, 900), round(rng.uniform(0, 900)), 0.0, -0.0])
                for _ in range(4)
            ],
        ),
        (
            TemporalGroundingScorer(),
            lambda: [
                rng.choice([rng.uniform(-5, 90), round(rng.uniform(0, 90), 1), 0.0])
                for _ in range(2)
            ],
        ),
    ):
        key = scorer.key
        answers = [json.dumps({key: make()}) for _ in range(3000)]
        answers[::37] = ["{'x': 1}"] * len(answers[::37])
        truths = [scorer.prepare_ground_truth(json.dumps({key: make()}), None) for _ in answers]
        big = scorer.score_many(answers, truths, [None] * len(answers), opts)
        for k in range(0, len(answers), 7):
            small = scorer.score_many(answers[k : k + 7], truths[k : k + 7], [None] * 7, opts)
            assert [struct_bits(o.accuracy) for o in small] == [
                struct_bits(o.accuracy) for o in big[k : k + 7]
            ]
            assert [o.structure for o in small] == [o.structure for o in big[k : k + 7]]


def struct_bits(v: float) -> bytes:
    import struct

    return struct.pack("<d", v)
