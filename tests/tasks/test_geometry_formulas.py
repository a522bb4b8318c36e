"""The structured-task formulas against independent references, plus properties."""

from __future__ import annotations

import itertools
import json
import math
import random

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import unireward
from unireward.geometry import box_iou, interval_iou, point_set_similarity
from unireward.geometry import keyframe_similarity as time_similarity

COORD = st.floats(0, 1000, allow_nan=False)
SHIFT = st.floats(-500, 500, allow_nan=False)
SCALE = st.floats(0.25, 4, allow_nan=False)


def shapely_box_iou(p: list[float], g: list[float]) -> float:
    a = shapely.box(*p) if p[2] > p[0] and p[3] > p[1] else shapely.Polygon()
    b = shapely.box(*g) if g[2] > g[0] and g[3] > g[1] else shapely.Polygon()
    union = a.union(b).area
    return a.intersection(b).area / union if union > 0 else 0.0


def loop_interval_iou(p: list[float], g: list[float]) -> float:
    inter = max(0.0, min(p[1], g[1]) - max(p[0], g[0]))
    union = max(p[1], g[1]) - min(p[0], g[0])
    return inter / union if union > 1e-12 else 0.0


def brute_points(p: list[list[float]], g: list[list[float]]) -> float:
    best = min(
        sum(math.dist(p[i], g[j]) for i, j in enumerate(perm))
        for perm in itertools.permutations(range(3))
    )
    d = best / 3
    return math.exp(-(d**2) / (2 * 50.0**2))


def test_box_iou_matches_shapely_on_random_boxes() -> None:
    rng = random.Random(1)
    preds, gts = [], []
    for _ in range(3000):
        p = [rng.uniform(0, 1000) for _ in range(4)]
        g = [rng.uniform(0, 1000) for _ in range(4)]
        if rng.random() < 0.7:  # mostly well-ordered boxes
            p = [min(p[0], p[2]), min(p[1], p[3]), max(p[0], p[2]), max(p[1], p[3])]
            g = [min(g[0], g[2]), min(g[1], g[3]), max(g[0], g[2]), max(g[1], g[3])]
        preds.append(p)
        gts.append(g)
    ours = box_iou(np.array(preds), np.array(gts))
    ref = [shapely_box_iou(p, g) for p, g in zip(preds, gts, strict=True)]
    np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_interval_iou_matches_loop() -> None:
    rng = random.Random(2)
    pairs = [
        ([rng.uniform(-10, 100), rng.uniform(-10, 100)], [rng.uniform(0, 100), rng.uniform(0, 100)])
        for _ in range(3000)
    ]
    ours = interval_iou(np.array([p for p, _ in pairs]), np.array([g for _, g in pairs]))
    np.testing.assert_allclose(ours, [loop_interval_iou(p, g) for p, g in pairs], atol=1e-12)


def test_point_kernel_equals_min_over_permutations() -> None:
    rng = random.Random(3)
    ps = [[[rng.uniform(0, 1000), rng.uniform(0, 1000)] for _ in range(3)] for _ in range(1000)]
    gs = [[[rng.uniform(0, 1000), rng.uniform(0, 1000)] for _ in range(3)] for _ in range(1000)]
    ours = point_set_similarity(np.array(ps), np.array(gs))
    np.testing.assert_allclose(
        ours, [brute_points(p, g) for p, g in zip(ps, gs, strict=True)], rtol=1e-12
    )


def test_point_kernel_other_sizes_use_assignment() -> None:
    p = [[0, 0], [100, 0], [0, 100], [100, 100]]
    g = [[100, 100], [0, 100], [100, 0], [0, 0]]
    assert float(point_set_similarity(p, g)) == 1.0
    shifted = [[x + 30, y + 40] for x, y in p]
    assert float(point_set_similarity(shifted, p)) == pytest.approx(
        math.exp(-(50**2) / (2 * 50**2))
    )


@pytest.mark.parametrize(
    ("p", "g", "expected"),
    [
        ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),  # zero area
        ([10, 10, 0, 0], [0, 0, 10, 10], 0.0),  # swapped corners are not reordered
        ([0, 0, math.nan, 10], [0, 0, 10, 10], 0.0),
        ([0, 0, math.inf, 10], [0, 0, 10, 10], 0.0),
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
    ],
)
def test_box_degenerate(p: list[float], g: list[float], expected: float) -> None:
    assert float(box_iou(p, g)) == expected


def test_degenerate_intervals_and_time() -> None:
    assert float(interval_iou([5, 5], [5, 5])) == 0.0
    assert float(interval_iou([math.nan, 5], [0, 5])) == 0.0
    assert float(time_similarity(math.nan, 1.0)) == 0.0
    assert float(point_set_similarity([[math.nan, 0]] * 3, [[0, 0]] * 3)) == 0.0


@given(
    st.lists(COORD, min_size=4, max_size=4),
    st.lists(COORD, min_size=4, max_size=4),
    SHIFT,
    SHIFT,
    SCALE,
)
@settings(max_examples=300, deadline=None)
def test_box_iou_properties(a: list[float], b: list[float], dx: float, dy: float, s: float) -> None:
    a = [min(a[0], a[2]), min(a[1], a[3]), max(a[0], a[2]), max(a[1], a[3])]
    b = [min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])]
    iou = float(box_iou(a, b))
    assert 0.0 <= iou <= 1.0
    assert iou == pytest.approx(float(box_iou(b, a)), abs=1e-12)
    if min(a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1]) > 1e-3:  # not degenerate
        move = lambda x: [x[0] * s + dx, x[1] * s + dy, x[2] * s + dx, x[3] * s + dy]  # noqa: E731
        assert float(box_iou(move(a), move(b))) == pytest.approx(iou, abs=1e-6)
        assert float(box_iou(a, a)) == pytest.approx(1.0)


@given(
    st.lists(COORD, min_size=2, max_size=2), st.lists(COORD, min_size=2, max_size=2), SHIFT, SCALE
)
@settings(max_examples=300, deadline=None)
def test_interval_iou_properties(a: list[float], b: list[float], dx: float, s: float) -> None:
    a, b = sorted(a), sorted(b)
    iou = float(interval_iou(a, b))
    assert 0.0 <= iou <= 1.0
    assert iou == float(interval_iou(b, a))
    if min(a[1] - a[0], b[1] - b[0]) > 1e-3:  # not degenerate
        moved = interval_iou([a[0] * s + dx, a[1] * s + dx], [b[0] * s + dx, b[1] * s + dx])
        assert float(moved) == pytest.approx(iou, abs=1e-6)
        assert float(interval_iou(a, a)) == 1.0


@given(
    st.lists(st.tuples(COORD, COORD), min_size=3, max_size=3),
    st.lists(st.tuples(COORD, COORD), min_size=3, max_size=3),
    st.permutations(range(3)),
)
@settings(max_examples=300, deadline=None)
def test_point_kernel_properties(p: list, g: list, perm: list[int]) -> None:
    v = float(point_set_similarity(p, g))
    assert 0.0 <= v <= 1.0
    assert float(point_set_similarity([p[i] for i in perm], g)) == pytest.approx(
        v, rel=1e-12, abs=1e-300
    )
    assert float(point_set_similarity(g, g)) == 1.0


def _random_answer(rng: random.Random, task: str) -> str:
    r = rng.random()
    if r < 0.1:
        return rng.choice(
            ["```json\n{}\n```", "{'time': [1, 2]}", "[1,2]", "null", '{"time": "x"}', "{"]
        )
    if task == "temporal grounding":
        t = [rng.uniform(0, 60), rng.uniform(0, 60)]
        return json.dumps({"time": t if r < 0.9 else [math.nan, 1]})
    if task == "spatial grounding":
        return json.dumps(
            {"boxes": [rng.uniform(0, 1000) for _ in range(4)] if r < 0.9 else [[1, 2, 3, 4]]}
        )
    if task == "tracking":
        return json.dumps(
            {
                "boxes": {
                    str(k): [
                        rng.uniform(0, 500),
                        rng.uniform(0, 500),
                        rng.uniform(500, 1000),
                        rng.uniform(500, 1000),
                    ]
                    for k in range(1, rng.randint(1, 8))
                }
            }
        )
    if task == "spatial-temporal grounding":
        return json.dumps(
            {
                "time": [rng.uniform(0, 10), rng.uniform(5, 20)],
                "boxes": {
                    str(k): [rng.uniform(0, 500), rng.uniform(0, 500), 600, 700]
                    for k in range(rng.randint(0, 5), 9)
                },
            }
        )

    def pts() -> list[list[float]]:
        return [[rng.uniform(0, 1000), rng.uniform(0, 1000)] for _ in range(3 if r < 0.95 else 2)]

    ans = {
        "boxes": [
            rng.uniform(0, 400),
            rng.uniform(0, 400),
            rng.uniform(400, 1000),
            rng.uniform(400, 1000),
        ],
        "positive_points": pts(),
        "negative_points": pts(),
        "time": rng.uniform(0, 10),
    }
    return json.dumps(ans)


GTS = {
    "temporal grounding": '{"time": [12.3, 25.7]}',
    "spatial grounding": '{"boxes": [35, 227, 437, 932]}',
    "tracking": (
        '{"boxes": {"1": [100, 100, 600, 600], "2": [110, 100, 610, 600], '
        '"3": [120, 100, 620, 600]}}'
    ),
    "spatial-temporal grounding": (
        '{"time": [4, 12], "boxes": {"5": [100, 100, 600, 700], "6": [120, 100, 620, 700]}}'
    ),
    "segmentation": (
        '{"time": 3.0, "boxes": [100, 100, 600, 600], '
        '"positive_points": [[150, 150], [200, 200], [250, 250]], '
        '"negative_points": [[50, 50], [850, 850], [50, 850]]}'
    ),
}


def test_batch_path_equals_per_item_path() -> None:
    rng = random.Random(11)
    records = []
    for _ in range(3000):
        task = rng.choice(list(GTS))
        dt = rng.choice(["image", "video", "VIDEO"]) if task == "segmentation" else "video"
        records.append(
            {
                "completion": f"<think>t</think><answer>{_random_answer(rng, task)}</answer>",
                "ground_truth": GTS[task],
                "task": task,
                "data_type": dt,
            }
        )
    batch = unireward.score_batch(records)
    single = [
        unireward.score(r["completion"], r["ground_truth"], r["task"], data_type=r["data_type"])
        for r in records
    ]
    assert [(b.total, b.accuracy, b.structure, b.status) for b in batch] == [
        (s.total, s.accuracy, s.structure, s.status) for s in single
    ]
    assert all(math.isfinite(b.total) and 0.0 <= b.total <= 1.5 for b in batch)


@pytest.mark.parametrize(
    ("answer", "accuracy", "structure", "status"),
    [
        ('{"time": [NaN, 5]}', 0.0, 0.5, "non_finite"),
        ('{"time": [Infinity, 5]}', 0.0, 0.5, "non_finite"),
        ('{"time": [1e309, 5]}', 0.0, 0.5, "non_finite"),
        ('{"time": [true, 5]}', 0.0, 0.5, "ok"),  # true = 1: disjoint from [12.3, 25.7]
        ('{"time": ["12.3", "25.7"]}', 1.0, 0.5, "ok"),
        ('{"time": [25.7, 12.3]}', 0.0, 0.5, "ok"),  # swapped: not reordered
        ('{"time": [12.3, 25.7], "extra": 1}', 1.0, 0.5, "ok"),
        ('{"time": [1, 2], "time": [12.3, 25.7]}', 1.0, 0.5, "ok"),  # last duplicate wins
        ('{"time": [12.3, 25.7, 30]}', 0.0, 0.0, "schema_error"),
        ("{'time': [12.3, 25.7]}", 0.0, 0.0, "malformed_json"),
        ('{"time": [12.3, 25.7]} trailing', 0.0, 0.0, "malformed_json"),
        ("[" * 100_000, 0.0, 0.0, "malformed_json"),
    ],
)
def test_temporal_fine_print(answer: str, accuracy: float, structure: float, status: str) -> None:
    r = unireward.score(
        f"<think>t</think><answer>{answer}</answer>", '{"time": [12.3, 25.7]}', "temporal grounding"
    )
    assert (r.accuracy, r.structure, r.status.value) == (accuracy, structure, status)


def test_strict_profile_reorders_swapped_ends() -> None:
    c = '<think>t</think><answer>{"time": [25.7, 12.3]}</answer>'
    assert (
        unireward.score(
            c, '{"time": [12.3, 25.7]}', "temporal grounding", profile="strict"
        ).accuracy
        == 1.0
    )
    c = '<think>t</think><answer>{"boxes": [437, 932, 35, 227]}</answer>'
    assert (
        unireward.score(
            c, '{"boxes": [35, 227, 437, 932]}', "spatial grounding", profile="strict"
        ).accuracy
        == 1.0
    )


def test_segmentation_fine_print() -> None:
    gt = GTS["segmentation"]
    base = json.loads(gt)

    def score(ans: dict, dt: str = "video") -> unireward.RewardResult:
        return unireward.score(
            f"<think>t</think><answer>{json.dumps(ans)}</answer>", gt, "segmentation", data_type=dt
        )

    assert score(base).accuracy == 1.0
    assert score(base, "Image").accuracy == 1.0  # a video ground truth scored as image ignores time
    bad_box = dict(base, boxes=[1, 2, 3])
    r = score(bad_box)
    assert r.accuracy == pytest.approx(0.7) and r.structure == 0.0  # points and time still count
    assert score(dict(base, time=[3.0])).accuracy == 0.0
    assert score(base, "audio").accuracy == 0.0 and score(base, "audio").structure == 0.0
    r = unireward.score(
        f"<think>t</think><answer>{json.dumps(base).replace('3.0', 'NaN', 1)}</answer>",
        gt,
        "segmentation",
        data_type="video",
    )
    assert math.isfinite(r.total)


def test_tracking_empty_boxes_is_valid_quirk() -> None:
    r = unireward.score(
        '<think>t</think><answer>{"boxes": {}}</answer>', GTS["tracking"], "tracking"
    )
    assert (r.accuracy, r.structure) == (0.0, 0.25)


def test_bad_structured_ground_truth_raises_on_request() -> None:
    with pytest.raises(unireward.GroundTruthError, match="'time'"):
        unireward.score("x", '{"boxes": [1, 2, 3, 4]}', "temporal grounding", errors="raise")
    with pytest.raises(unireward.GroundTruthError, match="not valid JSON"):
        unireward.score("x", "{oops", "spatial grounding", errors="raise")
    r = unireward.score("x", "{oops", "spatial grounding")
    assert (r.total, r.status.value) == (0.0, "ground_truth_error") and "not valid JSON" in (
        r.reason or ""
    )
