"""Raw scores -> accuracies: per-problem z-score + min-max (float32), or clipping."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from unireward.errors import ConfigurationError
from unireward.remote import clip_unit, normalize_by_group, scores_to_accuracies


def brute_force(scores: list[float], ids: list[Any]) -> list[float]:
    """The specified mapping written out in plain float64 Python."""
    out = [0.0] * len(scores)
    for gid in dict.fromkeys(ids):
        idx = [i for i, g in enumerate(ids) if g == gid]
        vals = [scores[i] for i in idx]
        mean = sum(vals) / len(vals)
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))
        if std == 0:
            norm = [1.0] * len(vals)
        else:
            z = [(v - mean) / (std + 1e-6) for v in vals]
            norm = [(x - min(z)) / (max(z) - min(z) + 1e-12) for x in z]
        for i, v in zip(idx, norm, strict=True):
            out[i] = min(1.0, max(0.0, v))
    return out


def test_reference_vectors(polar_rows: list[dict[str, Any]]) -> None:
    for batch in sorted({r["batch_name"] for r in polar_rows}):
        rows = sorted((r for r in polar_rows if r["batch_name"] == batch),
                      key=lambda r: r["index_in_batch"])
        scores = rows[0]["scripted_rm_scores_for_batch"]
        got = scores_to_accuracies(
            scores, [r["problem_id"] for r in rows],
            normalize_by_problem_id=rows[0]["normalize_model_reward_by_problem_id"])
        expected = [r["components"]["accuracy"] for r in rows]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_float32_arithmetic_like_the_reference() -> None:
    # 0.7 is what the z-score + min-max of this group gives; float32 makes it 0.699999988...
    got = normalize_by_group([1.5, 3.0, -2.0, 0.5], ["p"] * 4)
    assert got.tolist() == [float(np.float32(0.7)), 1.0, 0.0, 0.5]
    assert got.dtype == np.float64


def test_hand_computed_group() -> None:
    # mean 2, population std 1 -> z = (-1, 1) / (1 + 1e-6) -> min-max (0, 1)
    assert normalize_by_group([1.0, 3.0], ["x", "x"]).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("scores", [[4.2], [0.5, 0.5, 0.5], [-3.0, -3.0]])
def test_zero_std_gives_one(scores: list[float]) -> None:
    assert normalize_by_group(scores, ["g"] * len(scores)).tolist() == [1.0] * len(scores)


def test_identical_scores_float32_quirk() -> None:
    # float32: 1.7 + 1.7 + 1.7 rounds, so the mean is not 1.7, the std is ~1e-7 rather than 0,
    # all z-scores are equal and the min-max gives 0.0 (the reference does exactly this)
    assert np.array([1.7] * 3, dtype=np.float32).std() != 0
    assert normalize_by_group([1.7] * 3, ["g"] * 3).tolist() == [0.0, 0.0, 0.0]
    assert normalize_by_group([1.7] * 3, ["g"] * 3, strict=True).tolist() == [1.0, 1.0, 1.0]
    assert scores_to_accuracies([1.7] * 3, strict=True).tolist() == [1.0, 1.0, 1.0]


def test_groups_are_independent() -> None:
    got = normalize_by_group([0.0, 10.0, 5.0, 1.0, 2.0], ["a", "b", "a", "b", "b"])
    assert got.tolist() == pytest.approx([0.0, 1.0, 1.0, 0.0, 1 / 9], abs=1e-6)


def test_none_problem_ids_share_one_group() -> None:
    # None is an ordinary key (as in the reference): the three None samples are normalised
    # together, not each on its own (which would give every one of them 1.0)
    got = normalize_by_group([1.0, 2.0, 3.0, 9.0], [None, "p", None, None])
    assert got.tolist() == pytest.approx([0.0, 1.0, 0.25, 1.0], abs=1e-6)
    assert scores_to_accuracies([1.0, 2.0, 3.0]).tolist() == pytest.approx([0.0, 0.5, 1.0])


def test_clip() -> None:
    assert clip_unit([1.5, 0.25, -2.0, 1.0, 0.0]).tolist() == [1.0, 0.25, 0.0, 1.0, 0.0]
    assert scores_to_accuracies([7.0, 0.3], ["a", "a"],
                                normalize_by_problem_id=False).tolist() == [1.0, 0.3]


def test_huge_scores_stay_finite() -> None:
    got = normalize_by_group([1e30, -1e30, 0.0], ["g"] * 3)
    assert got.tolist() == pytest.approx([1.0, 0.0, 0.5])


@pytest.mark.parametrize(
    ("scores", "ids"),
    [([1.0, float("nan")], ["a", "a"]), ([1.0, 2.0], ["a"]), ([[1.0]], ["a"]),
     ([1.0], [["unhashable"]])],
)
def test_bad_inputs_raise(scores: Any, ids: Any) -> None:
    with pytest.raises(ConfigurationError):
        normalize_by_group(scores, ids)


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
scores_and_ids = st.integers(1, 12).flatmap(
    lambda n: st.tuples(st.lists(finite, min_size=n, max_size=n),
                        st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n,
                                 max_size=n)))


@settings(max_examples=300, deadline=None)
@given(scores_and_ids)
def test_matches_brute_force_and_stays_in_unit_interval(data: tuple[list[float], list]) -> None:
    scores, ids = data
    got = normalize_by_group(scores, ids)
    strict = normalize_by_group(scores, ids, strict=True)
    for arr in (got, strict):
        assert np.all(np.isfinite(arr)) and np.all((arr >= 0) & (arr <= 1))
    want = brute_force(scores, ids)
    # float32 against float64: equal where the group is well separated
    for gid in set(ids):
        idx = [i for i, g in enumerate(ids) if g == gid]
        vals = np.array([scores[i] for i in idx])
        spread = vals.max() - vals.min()
        if spread == 0:
            # the reference's float32 quirk: 1.0 only when the float32 std is exactly 0
            f32 = np.array(vals, dtype=np.float32)
            expected = 1.0 if f32.std() == 0 else 0.0
            assert got[idx].tolist() == [expected] * len(idx)
            assert strict[idx].tolist() == [1.0] * len(idx)
        elif spread > 1e-3 * max(1.0, float(np.abs(vals).max())):
            np.testing.assert_allclose(got[idx], [want[i] for i in idx], atol=1e-4)
            np.testing.assert_allclose(strict[idx], [want[i] for i in idx], atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(st.lists(finite, min_size=2, max_size=10), st.floats(0.5, 50), st.floats(-100, 100))
def test_invariant_under_positive_affine_maps(scores: list[float], a: float, b: float) -> None:
    arr = np.array(scores)
    assume(arr.max() - arr.min() > 1e-2 * max(1.0, float(np.abs(arr).max())))
    ids = ["g"] * len(scores)
    np.testing.assert_allclose(normalize_by_group(arr * a + b, ids),
                               normalize_by_group(arr, ids), atol=1e-4)


@settings(max_examples=200, deadline=None)
@given(st.lists(finite, min_size=1, max_size=10), st.randoms())
def test_permutation_equivariant(scores: list[float], rnd: Any) -> None:
    perm = list(range(len(scores)))
    rnd.shuffle(perm)
    ids = ["g"] * len(scores)
    base = normalize_by_group(scores, ids)
    shuffled = normalize_by_group([scores[i] for i in perm], ids)
    np.testing.assert_allclose(shuffled, base[perm], atol=1e-6)
