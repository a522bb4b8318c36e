"""Properties of the estimators on arbitrary batches (hypothesis) and named corner cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unireward.advantage import EMARewardNormalizer, dr_grpo, ema_grpo, grpo

reward = st.one_of(st.floats(0.0, 1.5, width=32), st.none(), st.just(float("nan")))


@st.composite
def batches(draw):  # type: ignore[no-untyped-def]
    sizes = draw(st.lists(st.integers(1, 6), min_size=1, max_size=6))
    rewards, groups, tasks = [], [], []
    for g, size in enumerate(sizes):
        task = draw(st.sampled_from(["multiple choice", "OCR", "segmentation"]))
        for _ in range(size):
            rewards.append(draw(reward))
            groups.append(f"g{g}")
            tasks.append(task)
    return rewards, groups, tasks


def _valid_groups(rewards, groups):  # type: ignore[no-untyped-def]
    out: dict[str, list[int]] = {}
    for i, (r, g) in enumerate(zip(rewards, groups, strict=True)):
        if r is not None and np.isfinite(r):
            out.setdefault(g, []).append(i)
    return out


@settings(max_examples=150, deadline=None)
@given(batches())
def test_centred_per_group_and_zero_where_undefined(batch) -> None:  # type: ignore[no-untyped-def]
    rewards, groups, tasks = batch
    norm = EMARewardNormalizer()
    strict = EMARewardNormalizer(profile="strict")
    dts = ["image"] * len(tasks)
    outs = {
        "grpo": grpo(rewards, groups),
        "pop": grpo(rewards, groups, std="population"),
        "dr": dr_grpo(rewards, groups),
        "ema": ema_grpo(rewards, groups, tasks, data_types=dts, normalizer=norm),
        "ema strict": ema_grpo(rewards, groups, tasks, data_types=dts, normalizer=strict),
    }
    valid = _valid_groups(rewards, groups)
    for name, adv in outs.items():
        assert adv.dtype == np.float32 and adv.shape == (len(rewards),), name
        assert np.all(np.isfinite(adv)), name
        scored = {i for idx in valid.values() if len(idx) > 1 for i in idx}
        for i in set(range(len(rewards))) - scored:  # unscorable, or alone in its group
            assert adv[i] == 0.0, name
        for idx in valid.values():
            if len(idx) > 1:
                assert abs(float(adv[idx].astype(np.float64).sum())) < 1e-3 * len(idx), name
                vals = [rewards[i] for i in idx]
                if max(vals) == min(vals):  # all-equal group
                    if name == "ema":
                        # the reference's float32 group mean of equal values can be off by
                        # an ulp: a residue as small as the reference gives
                        assert np.all(np.abs(adv[idx]) < 1e-3), name
                    else:
                        assert np.all(adv[idx] == 0.0), name
                # order within a group follows the rewards
                for a in idx:
                    for b in idx:
                        if rewards[a] > rewards[b]:
                            assert adv[a] >= adv[b], name
    # the tracker only holds tasks with scorable samples, each std at least min_std
    for key in norm.tasks:
        assert norm.std(key) >= norm.min_std


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.5, width=32), min_size=2, max_size=8), st.floats(-1.0, 1.0, width=32)
)
def test_grpo_ignores_a_shift_and_dr_grpo_too(values: list[float], shift: float) -> None:
    g = ["a"] * len(values)
    shifted = [v + shift for v in values]
    if np.std(values) > 1e-3:  # below that, float32 rounding of the shift dominates
        np.testing.assert_allclose(grpo(values, g), grpo(shifted, g), atol=2e-3)
    np.testing.assert_allclose(dr_grpo(values, g), dr_grpo(shifted, g), atol=1e-5)


@settings(max_examples=100, deadline=None)
@given(batches())
def test_guard_bounds_the_advantage(batch) -> None:  # type: ignore[no-untyped-def]
    rewards, groups, tasks = batch
    adv = ema_grpo(rewards, groups, tasks, normalizer=EMARewardNormalizer())
    # either within the guard, or the group's population-std fallback, bounded by sqrt(n - 1)
    valid = _valid_groups(rewards, groups)
    for idx in valid.values():
        bound = max(5.0, np.sqrt(max(len(idx) - 1, 1)) + 1e-3)
        assert np.all(np.abs(adv[idx]) <= bound)


@pytest.mark.parametrize("fn", [grpo, dr_grpo])
def test_named_corner_cases(fn) -> None:  # type: ignore[no-untyped-def]
    assert fn([], []).shape == (0,)
    assert list(fn([0.7], ["only"])) == [0.0]
    assert list(fn([0.7, 0.7, 0.7], ["g"] * 3)) == [0.0, 0.0, 0.0]
    assert list(fn([None, float("nan")], ["g", "g"])) == [0.0, 0.0]
    assert list(fn([1.0, None, 0.0], ["g"] * 3))[1] == 0.0
    # ints and numpy arrays are accepted as group ids
    np.testing.assert_array_equal(
        fn(np.array([1.0, 0.0]), np.array([3, 3])), fn([1.0, 0.0], ["x", "x"])
    )


def test_ema_empty_batch_keeps_state() -> None:
    norm = EMARewardNormalizer()
    assert ema_grpo([], [], [], normalizer=norm).shape == (0,)
    assert norm.tasks == {}


@settings(max_examples=60, deadline=None)
@given(batches())
def test_torch_twin_equals_numpy(batch) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    from unireward.advantage import torch as adv_torch

    rewards, groups, tasks = batch
    n1, n2 = EMARewardNormalizer(), EMARewardNormalizer()
    for _ in range(2):  # two steps: the tracker moves identically
        np.testing.assert_allclose(
            adv_torch.ema_grpo(rewards, groups, tasks, normalizer=n2).numpy(),
            ema_grpo(rewards, groups, tasks, normalizer=n1),
            atol=1e-6,
        )
    assert n1.state_dict() == n2.state_dict()
    as_tensor = torch.tensor([float("nan") if r is None else r for r in rewards])
    np.testing.assert_allclose(
        adv_torch.grpo(as_tensor, groups).numpy(), grpo(rewards, groups), atol=1e-6
    )
    np.testing.assert_allclose(
        adv_torch.dr_grpo(rewards, groups).numpy(), dr_grpo(rewards, groups), atol=1e-6
    )
