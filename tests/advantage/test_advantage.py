"""Advantage estimators: reference steps, definitions of edge cases, torch twin, sync."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from unireward.advantage import EMARewardNormalizer, dr_grpo, ema_grpo, grpo, task_keys
from unireward.errors import ConfigurationError


def _run_reference(steps: list[dict], fn) -> None:  # type: ignore[no-untyped-def]
    norm = EMARewardNormalizer()
    for st in steps:
        i = st["inputs"]
        adv = fn(i["scores"], i["uid"], i["problem_type"], i["data_type"], norm)
        np.testing.assert_allclose(adv, st["expected_advantage"], atol=1e-5)
        for key, want in st["tracker_state_after"].items():
            assert norm.tasks[key].m1 == pytest.approx(want["m1"], abs=1e-5)
            assert norm.tasks[key].m2 == pytest.approx(want["m2"], abs=1e-5)
            assert norm.std(key) == pytest.approx(want["std"], abs=1e-5)


def test_ema_grpo_reference_steps_numpy(ema_reference_steps: list[dict]) -> None:
    _run_reference(
        ema_reference_steps, lambda s, u, t, d, n: ema_grpo(s, u, t, data_types=d, normalizer=n)
    )


def test_grpo_reference(ema_reference_steps: list[dict]) -> None:
    for st in ema_reference_steps:
        i = st["inputs"]
        np.testing.assert_allclose(
            grpo(i["scores"], i["uid"]), st["grpo_advantage_same_batch"], atol=1e-5
        )


def test_ema_grpo_reference_steps_torch(ema_reference_steps: list[dict]) -> None:
    torch = pytest.importorskip("torch")
    from unireward.advantage import torch as adv_torch

    def fn(s, u, t, d, n):  # type: ignore[no-untyped-def]
        out = adv_torch.ema_grpo(torch.tensor(s), u, t, data_types=d, normalizer=n)
        assert out.dtype == torch.float32
        return out.numpy()

    _run_reference(ema_reference_steps, fn)


def test_torch_twin_matches_numpy_on_random_batches() -> None:
    torch = pytest.importorskip("torch")
    from unireward.advantage import torch as adv_torch

    rng = np.random.default_rng(0)
    n1, n2 = EMARewardNormalizer(), EMARewardNormalizer()
    for _ in range(5):
        r = rng.choice([0.0, 0.1, 0.6, 1.05, 1.5], size=64)
        g = [f"g{i // 8}" for i in range(64)]
        t = [rng.choice(["multiple choice", "math", "segmentation"]) for _ in range(64)]
        d = [rng.choice(["image", "video"]) for _ in range(64)]
        a = ema_grpo(r, g, t, data_types=d, normalizer=n1)
        b = adv_torch.ema_grpo(torch.tensor(r), g, t, data_types=d, normalizer=n2).numpy()
        np.testing.assert_allclose(a, b, atol=1e-6)
        np.testing.assert_allclose(
            grpo(r, g), adv_torch.grpo(torch.tensor(r), g).numpy(), atol=1e-6
        )
        np.testing.assert_allclose(
            dr_grpo(r, g), adv_torch.dr_grpo(torch.tensor(r), g).numpy(), atol=1e-6
        )
    assert n1.state_dict() == n2.state_dict()


@pytest.mark.gpu
def test_torch_twin_stays_on_cuda() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    from unireward.advantage import torch as adv_torch

    r = torch.tensor([1.5, 0.6, 1.5, 0.6], device="cuda")
    out = adv_torch.ema_grpo(r, ["a"] * 4, ["mc"] * 4, normalizer=EMARewardNormalizer())
    assert out.device.type == "cuda"
    np.testing.assert_allclose(
        out.cpu().numpy(),
        ema_grpo([1.5, 0.6, 1.5, 0.6], ["a"] * 4, ["mc"] * 4, normalizer=EMARewardNormalizer()),
        atol=1e-6,
    )


def test_edge_cases_are_defined() -> None:
    # singleton group -> 0; all-equal group -> 0; None/NaN -> 0 and left out of the stats
    r = [1.0, 0.5, 0.5, 0.5, None, 1.0, 0.0, float("nan")]
    g = ["solo", "eq", "eq", "eq", "x", "x", "x", "x"]
    norm = EMARewardNormalizer()
    a = ema_grpo(r, g, ["t"] * 8, normalizer=norm)
    assert a[0] == 0.0 and list(a[1:4]) == [0.0, 0.0, 0.0]
    assert a[4] == 0.0 and a[7] == 0.0
    assert a[5] > 0 > a[6]
    vals = np.array([1.0, 0.5, 0.5, 0.5, 1.0, 0.0])
    assert norm.tasks["t"].m1 == pytest.approx(vals.mean(), rel=1e-6)  # NaN and None excluded
    assert all(math.isfinite(x) for x in a)
    assert list(grpo([None, 1.0], ["a", "a"])) == [0.0, 0.0]


def test_guard_falls_back_to_group_std() -> None:
    norm = EMARewardNormalizer()
    ema_grpo(
        [1.0, 0.0] * 50,
        [f"g{i}" for i in range(100) for _ in range(1)],
        ["t"] * 100,
        normalizer=norm,
    )
    # a later batch with a tiny spread: task std ~0.5 keeps |A| small, no guard
    # now make the task std tiny and feed a spread group: |A| > 5 triggers the guard
    norm2 = EMARewardNormalizer(min_std=1e-3)
    ema_grpo([0.5] * 8, ["a"] * 8, ["t"] * 8, normalizer=norm2)  # std -> min_std
    norm2.tasks["t"].m2 = norm2.tasks["t"].m1 ** 2  # still zero spread
    adv = ema_grpo([0.51, 0.49, 0.5, 0.5], ["b"] * 4, ["t"] * 4, normalizer=norm2)
    c = np.array([0.01, -0.01, 0, 0], dtype=np.float32)
    pop = np.float32(np.std(np.array([0.51, 0.49, 0.5, 0.5], dtype=np.float32)))
    np.testing.assert_allclose(adv, c / (pop + 1e-6), rtol=1e-4)
    assert np.abs(adv).max() < 5.0


def test_segmentation_split_and_raw_keys() -> None:
    # the reference splits only the exact spelling, and only image / video (any case)
    assert task_keys(
        ["segmentation", "Segmentation", "Multiple Choice", "segmentation", "segmentation"],
        ["image", "VIDEO", None, "Video", None],
    ) == [
        "segmentation/image",
        "Segmentation",
        "Multiple Choice",
        "segmentation/video",
        "segmentation",
    ]
    assert task_keys(
        ["segmentation", "Segmentation", "Multiple Choice"],
        ["image", "VIDEO", None],
        profile="strict",
    ) == ["segmentation/image", "Segmentation/video", "Multiple Choice"]


def test_state_dict_resume_continues_identically() -> None:
    rng = np.random.default_rng(1)
    batches = [
        (rng.uniform(0, 1.5, 16), [f"g{i // 4}" for i in range(16)], ["a", "b"] * 8)
        for _ in range(6)
    ]
    full = EMARewardNormalizer()
    outs = [ema_grpo(r, g, t, normalizer=full) for r, g, t in batches]
    first = EMARewardNormalizer()
    for r, g, t in batches[:3]:
        ema_grpo(r, g, t, normalizer=first)
    saved = json.loads(json.dumps(first.state_dict()))
    resumed = EMARewardNormalizer(beta=0.5)  # the state carries the constants
    resumed.load_state_dict(saved)
    for (r, g, t), want in zip(batches[3:], outs[3:], strict=True):
        np.testing.assert_array_equal(ema_grpo(r, g, t, normalizer=resumed), want)
    with pytest.raises(ConfigurationError):
        resumed.load_state_dict({"nope": 1})


def test_bias_correction_option() -> None:
    plain, corrected = EMARewardNormalizer(), EMARewardNormalizer(bias_correction=True)
    for n in (plain, corrected):
        n.update([1.0, 0.0, 1.0, 0.0], ["t"] * 4)
    assert corrected.std("t") == pytest.approx(plain.std("t"))  # first step: identical
    for n in (plain, corrected):
        n.update([1.0, 1.0, 1.0, 1.0], ["t"] * 4)
    assert corrected.std("t") < plain.std("t")


def test_bad_arguments() -> None:
    with pytest.raises(ConfigurationError):
        EMARewardNormalizer(beta=1.0)
    with pytest.raises(ConfigurationError):
        ema_grpo([1.0], ["a", "b"], ["t"], normalizer=EMARewardNormalizer())
    with pytest.raises(ConfigurationError):
        ema_grpo([1.0], ["a"], ["t"], normalizer=None)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RANK_BATCHES = {  # two steps per rank; rank 1 sees a task rank 0 never sees, and vice versa
    0: [([1.5, 0.6, 1.5, 0.6], ["multiple choice"] * 4), ([0.1, 1.1, 0.3, 0.3], ["ocr"] * 4)],
    1: [
        ([0.2, 0.4, 1.0, 1.2], ["multiple choice"] * 2 + ["temporal grounding"] * 2),
        ([1.5, 1.5, 0.7, 0.2], ["multiple choice"] * 2 + ["temporal grounding"] * 2),
    ],
}


@pytest.mark.integration
def test_sync_across_two_ranks_gives_identical_state(tmp_path: Path) -> None:
    pytest.importorskip("torch.distributed")
    script = tmp_path / "rank.py"
    script.write_text(
        textwrap.dedent(f"""
        import json, sys, torch.distributed as dist
        from unireward.advantage import EMARewardNormalizer, ema_grpo
        rank = int(sys.argv[1])
        dist.init_process_group(
            "gloo", init_method=f"tcp://127.0.0.1:{{sys.argv[2]}}", rank=rank, world_size=2
        )
        norm = EMARewardNormalizer(sync=True)
        advs = []
        for r, t in {RANK_BATCHES!r}[rank]:
            advs.append(ema_grpo(r, ["x", "x", "y", "y"], t, normalizer=norm).tolist())
        print(json.dumps({{"state": norm.state_dict(), "adv": advs}}))
        dist.destroy_process_group()
    """)
    )
    port = str(_free_port())
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo")
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(rk), port],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for rk in (0, 1)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    got = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    assert got[0]["state"] == got[1]["state"]
    # the same as one process that sees both ranks' batches (groups stay per rank)
    single = EMARewardNormalizer()
    for step in range(2):
        (r0, t0), (r1, t1) = RANK_BATCHES[0][step], RANK_BATCHES[1][step]
        adv = ema_grpo(
            r0 + r1, ["x0", "x0", "y0", "y0", "x1", "x1", "y1", "y1"], t0 + t1, normalizer=single
        )
        np.testing.assert_array_equal(adv[:4], got[0]["adv"][step])
        np.testing.assert_array_equal(adv[4:], got[1]["adv"][step])
    assert got[0]["state"]["tasks"] == single.state_dict()["tasks"]
    # by hand: multiple choice is 0.8 over both ranks at step 1, then only rank 1's 1.5s
    assert got[0]["state"]["tasks"]["multiple choice"]["m1"] == pytest.approx(
        0.99 * 0.8 + 0.01 * 1.5, abs=1e-6
    )
    assert got[0]["state"]["tasks"]["ocr"]["m1"] == pytest.approx(0.45, abs=1e-6)  # rank 0 only


def test_importing_without_extras_loads_no_torch() -> None:
    code = (
        "import sys, unireward, unireward.advantage, unireward.integrations, "
        "unireward.integrations.rewards, unireward.integrations.easyr1; "
        "bad = [m for m in ('torch', 'trl', 'verl', 'transformers') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_population_std_option_against_numpy() -> None:
    rng = np.random.default_rng(3)
    r = rng.uniform(0, 1.5, 24)
    g = [i // 6 for i in range(24)]
    for std, ddof in (("unbiased", 1), ("population", 0)):
        want = np.concatenate(
            [
                (r[i : i + 6] - r[i : i + 6].mean()) / (r[i : i + 6].std(ddof=ddof) + 1e-4)
                for i in range(0, 24, 6)
            ]
        )
        np.testing.assert_allclose(grpo(r, g, std=std, eps=1e-4), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        dr_grpo(r, g),
        np.concatenate([r[i : i + 6] - r[i : i + 6].mean() for i in range(0, 24, 6)]),
        atol=1e-6,
    )
    with pytest.raises(ConfigurationError):
        grpo(r, g, std="sample")  # type: ignore[arg-type]
