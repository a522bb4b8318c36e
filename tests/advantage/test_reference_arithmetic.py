"""EMA-GRPO against an independent float32 re-implementation of the reference, and the
float64 ``strict`` profile against a float64 one.

The oracles below are written from the specification (reward-spec.md section 5 and the
reference's arithmetic: group mean ``g.mean()``, batch moments ``x.mean().item()`` and
``(x * x).mean().item()``, guard std ``torch.std(g, unbiased=False).item()``, all float32
torch reductions on the CPU; the EMA in Python floats), not from unireward's code.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from unireward.advantage import EMARewardNormalizer, ema_grpo

if os.environ.get("CI", "").lower() == "true":
    import torch  # in CI the reference arithmetic must be checked, never skipped
else:
    torch = pytest.importorskip("torch")


def _key(task: str, data_type: str | None) -> str:
    if task == "segmentation":
        dt = (data_type or "").lower()
        if dt in ("image", "video"):
            return f"segmentation/{dt}"
    return task


def _split(scores, uid, ptype, dtype):  # type: ignore[no-untyped-def]
    """The usable scores (0 in place of None and non-finite ones), and the positions of the
    usable ones by prompt group and by EMA task key."""
    n = len(scores)
    keep = [i for i in range(n) if scores[i] is not None and math.isfinite(scores[i])]
    values = [scores[i] if i in keep else 0.0 for i in range(n)]
    keys = [_key(str(p), None if d is None else str(d)) for p, d in zip(ptype, dtype, strict=True)]
    groups: dict[str, list[int]] = {}
    tasks: dict[str, list[int]] = {}
    for i in keep:
        groups.setdefault(str(uid[i]), []).append(i)
        tasks.setdefault(keys[i], []).append(i)
    return values, groups, tasks


class ReferenceOracle:
    """The reference estimator, step by step, in torch float32."""

    def __init__(
        self, beta: float = 0.99, min_std: float = 1e-3, eps: float = 1e-6, guard: float = 5.0
    ) -> None:
        self.beta, self.min_std, self.eps, self.guard = beta, min_std, eps, guard
        self.state: dict[str, list[float]] = {}

    def std(self, key: str) -> float:
        m1, m2 = self.state[key]
        return float(max(max(m2 - m1 * m1, 0.0), self.min_std**2) ** 0.5)

    def step(self, scores, uid, ptype, dtype):  # type: ignore[no-untyped-def]
        n = len(scores)
        values, groups, tasks = _split(scores, uid, ptype, dtype)
        s = torch.tensor(values, dtype=torch.float32)
        centred = s.clone()
        for pos in groups.values():
            centred[pos] = s[pos] - s[pos].mean()
        for key, pos in tasks.items():
            x = s[pos].float()
            m1, m2 = x.mean().item(), (x * x).mean().item()
            if key not in self.state:
                self.state[key] = [m1, m2]
            else:
                old = self.state[key]
                self.state[key] = [
                    self.beta * old[0] + (1.0 - self.beta) * m1,
                    self.beta * old[1] + (1.0 - self.beta) * m2,
                ]
        out = torch.zeros(n, dtype=torch.float32)
        for key, pos in tasks.items():
            std = self.std(key)
            by_group: dict[str, list[int]] = {}
            for i in pos:
                by_group.setdefault(str(uid[i]), []).append(i)
            for g, gpos in by_group.items():
                if len(groups[g]) < 2:
                    continue
                tmp = centred[gpos] / (std + self.eps)
                if torch.any(torch.abs(tmp) > self.guard):
                    g_std = torch.std(s[gpos].float(), unbiased=False).item()
                    tmp = centred[gpos] / (g_std + self.eps)
                out[gpos] = tmp
        return out.numpy()


class Float64Oracle:
    """The same estimator in exact-as-possible float64 (numpy, two-pass moments)."""

    def __init__(
        self, beta: float = 0.99, min_std: float = 1e-3, eps: float = 1e-6, guard: float = 5.0
    ) -> None:
        self.beta, self.min_std, self.eps, self.guard = beta, min_std, eps, guard
        self.state: dict[str, list[float]] = {}

    def step(self, scores, uid, ptype, dtype):  # type: ignore[no-untyped-def]
        n = len(scores)
        values, groups, tasks = _split(scores, uid, ptype, dtype)
        s = np.array(values, dtype=np.float64)
        centred = s.copy()
        for pos in groups.values():
            centred[pos] = s[pos] - math.fsum(s[pos]) / len(pos)
        for key, pos in tasks.items():
            m1 = math.fsum(s[pos]) / len(pos)
            m2 = m1 * m1 + math.fsum((s[pos] - m1) ** 2) / len(pos)
            old = self.state.get(key)
            self.state[key] = (
                [m1, m2]
                if old is None
                else [
                    self.beta * old[0] + (1 - self.beta) * m1,
                    self.beta * old[1] + (1 - self.beta) * m2,
                ]
            )
        out = np.zeros(n)
        for key, pos in tasks.items():
            m1, m2 = self.state[key]
            std = math.sqrt(max(m2 - m1 * m1, self.min_std**2))
            by_group: dict[str, list[int]] = {}
            for i in pos:
                by_group.setdefault(str(uid[i]), []).append(i)
            for g, gpos in by_group.items():
                if len(groups[g]) < 2:
                    continue
                tmp = centred[gpos] / (std + self.eps)
                if np.any(np.abs(tmp) > self.guard):
                    tmp = centred[gpos] / (
                        np.sqrt(np.mean((s[gpos] - np.mean(s[gpos])) ** 2)) + self.eps
                    )
                out[gpos] = tmp
        return out


def _clustered(
    rng: np.random.Generator,
    steps: int,
    n_groups: int = 16,
    size: int = 8,
    centre: float = 1.31,
    spread: float = 0.01,
):  # type: ignore[no-untyped-def]
    """A low-variance task (rewards clustered like segmentation or OCR near 0.9 accuracy)."""
    out = []
    for _ in range(steps):
        scores = (centre + spread * rng.standard_normal(n_groups * size)).tolist()
        uid = [f"q{g}" for g in range(n_groups) for _ in range(size)]
        out.append((scores, uid, ["ocr"] * len(scores), ["image"] * len(scores)))
    return out


def _run(steps, norm: EMARewardNormalizer, oracle) -> float:  # type: ignore[no-untyped-def]
    worst = 0.0
    for scores, uid, ptype, dtype in steps:
        got = ema_grpo(scores, uid, ptype, data_types=dtype, normalizer=norm)
        want = oracle.step(scores, uid, ptype, dtype)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
        worst = max(worst, float(np.max(np.abs(got.astype(np.float64) - want), initial=0.0)))
        for key, (m1, m2) in oracle.state.items():
            assert norm.tasks[key].m1 == pytest.approx(m1, abs=1e-12)
            assert norm.tasks[key].m2 == pytest.approx(m2, abs=1e-12)
    return worst


def test_reference_vectors_bit_for_bit(ema_reference_steps: list[dict]) -> None:
    norm, oracle = EMARewardNormalizer(), ReferenceOracle()
    for st in ema_reference_steps:
        i = st["inputs"]
        got = ema_grpo(
            i["scores"], i["uid"], i["problem_type"], data_types=i["data_type"], normalizer=norm
        )
        np.testing.assert_array_equal(got, np.float32(st["expected_advantage"]))
        np.testing.assert_array_equal(
            got, oracle.step(i["scores"], i["uid"], i["problem_type"], i["data_type"])
        )
        for key, want in st["tracker_state_after"].items():
            assert (norm.tasks[key].m1, norm.tasks[key].m2) == (want["m1"], want["m2"])
            assert norm.std(key) == want["std"]


def test_low_variance_task_matches_the_reference_exactly() -> None:
    steps = _clustered(np.random.default_rng(7), 40)
    assert _run(steps, EMARewardNormalizer(), ReferenceOracle()) == 0.0


def test_guard_fallback() -> None:
    # a task whose std settles near its floor, then a group with a spread: |A| > 5
    oracle, norm = ReferenceOracle(), EMARewardNormalizer()
    steps = [
        ([0.9] * 8, ["a"] * 4 + ["b"] * 4, ["regression"] * 8, [None] * 8),
        (
            [0.9, 0.9, 0.9, 0.9, 0.95, 0.85, 0.9, 0.9],
            ["c"] * 4 + ["d"] * 4,
            ["regression"] * 8,
            [None] * 8,
        ),
    ]
    _run(steps, norm, oracle)
    # the group d fell back to its own std: its advantages are about +-1.41
    got = ema_grpo(
        [0.9] * 4 + [0.95, 0.85, 0.9, 0.9],
        ["c"] * 4 + ["d"] * 4,
        ["regression"] * 8,
        normalizer=norm,
    )
    want = oracle.step(
        [0.9] * 4 + [0.95, 0.85, 0.9, 0.9], ["c"] * 4 + ["d"] * 4, ["regression"] * 8, [None] * 8
    )
    np.testing.assert_array_equal(got, want)
    assert 1.3 < abs(float(got[4])) < 1.5


def test_min_std_floor() -> None:
    # identical rewards: the variance is 0 and the std is the floor (or a float32 residue)
    oracle, norm = ReferenceOracle(min_std=0.05), EMARewardNormalizer(min_std=0.05)
    steps = [
        ([1.0] * 8, ["a"] * 4 + ["b"] * 4, ["math"] * 8, [None] * 8),
        ([1.0, 1.0, 1.0, 0.99, 1.0] + [1.0] * 3, ["c"] * 5 + ["d"] * 3, ["math"] * 8, [None] * 8),
    ]
    _run(steps, norm, oracle)
    assert norm.std("math") == 0.05


@pytest.mark.parametrize("profile", ["onethinker", "strict"])
def test_split_segmentation_keys(profile: str) -> None:
    ptype = ["segmentation"] * 12 + ["Segmentation"] * 4
    dtype = ["image"] * 4 + ["VIDEO"] * 4 + ["3d"] * 4 + ["video"] * 4
    rng = np.random.default_rng(3)
    steps = [
        (rng.uniform(0.3, 1.4, 16).tolist(), [f"g{i // 4}" for i in range(16)], ptype, dtype)
        for _ in range(3)
    ]
    norm = EMARewardNormalizer(profile=profile)
    if profile == "onethinker":
        _run(steps, norm, ReferenceOracle())
        assert sorted(norm.tasks) == [
            "Segmentation",
            "segmentation",
            "segmentation/image",
            "segmentation/video",
        ]
    else:
        for st in steps:
            ema_grpo(st[0], st[1], st[2], data_types=st[3], normalizer=norm)
        assert sorted(norm.tasks) == [
            "Segmentation/video",
            "segmentation/3d",
            "segmentation/image",
            "segmentation/video",
        ]


def test_unscorable_rewards_are_left_out() -> None:
    nan = float("nan")
    steps = [
        ([1.5, None, 0.6, 1.5, 0.9, nan, 1.0, 1.1], ["a"] * 4 + ["b"] * 4, ["ocr"] * 8, [None] * 8),
        ([None, 1.2, 0.8, 1.0, nan, nan, 1.3, 0.7], ["a"] * 4 + ["b"] * 4, ["ocr"] * 8, [None] * 8),
        ([None, 1.2, nan, nan], ["a", "a", "b", "b"], ["ocr"] * 4, [None] * 4),
    ]  # groups of one: 0
    norm = EMARewardNormalizer()
    oracle = ReferenceOracle()
    _run(steps, norm, oracle)
    last = ema_grpo(*steps[2][:3], normalizer=norm)
    assert last.tolist() == [0.0, 0.0, 0.0, 0.0]
    assert norm.tasks["ocr"].steps == 4  # a lone scorable reward still feeds its task's moments


def test_torch_inputs_give_the_same_numbers() -> None:
    from unireward.advantage import torch as adv_torch

    steps = _clustered(np.random.default_rng(11), 10)
    a, b = EMARewardNormalizer(), EMARewardNormalizer()
    for scores, uid, ptype, dtype in steps:
        x = ema_grpo(scores, uid, ptype, data_types=dtype, normalizer=a)
        y = adv_torch.ema_grpo(
            torch.tensor(scores, dtype=torch.float32), uid, ptype, data_types=dtype, normalizer=b
        )
        np.testing.assert_array_equal(x, y.numpy())


def test_strict_matches_float64_and_drifts_from_onethinker() -> None:
    steps = _clustered(np.random.default_rng(5), 60, centre=1.31, spread=0.003)
    strict, ref = EMARewardNormalizer(profile="strict"), EMARewardNormalizer()
    oracle = Float64Oracle()
    drift = 0.0
    for scores, uid, ptype, dtype in steps:
        s = ema_grpo(scores, uid, ptype, data_types=dtype, normalizer=strict)
        r = ema_grpo(scores, uid, ptype, data_types=dtype, normalizer=ref)
        np.testing.assert_allclose(s, oracle.step(scores, uid, ptype, dtype), rtol=1e-6, atol=1e-6)
        drift = max(drift, float(np.max(np.abs(s - r) / np.maximum(np.abs(s), 1e-3))))
    # the float32 moments of a task with std 0.003 around 1.31 lose most of their digits
    assert drift > 0.01


def test_mixed_group_sizes_match_the_reference() -> None:
    # groups of 2 to 40 rollouts in one batch: the group means are taken size by size
    rng = np.random.default_rng(13)
    sizes = list(range(2, 41)) + [8] * 10
    uid = [f"p{g}" for g, n in enumerate(sizes) for _ in range(n)]
    steps = [
        (
            (1.2 + 0.02 * rng.standard_normal(len(uid))).tolist(),
            uid,
            ["OCR"] * len(uid),
            [None] * len(uid),
        )
        for _ in range(5)
    ]
    assert _run(steps, EMARewardNormalizer(), ReferenceOracle()) == 0.0
