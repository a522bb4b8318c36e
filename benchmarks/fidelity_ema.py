"""EMA-GRPO arithmetic: how far the numpy fallback and the ``strict`` profile are from the
reference's torch float32 reductions (the ``onethinker`` profile with torch installed).

Run: python benchmarks/fidelity_ema.py   (needs torch; prints the tables of docs/advantage.md)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import unireward.advantage._core as core
from unireward.advantage import EMARewardNormalizer, ema_grpo

UIDS = [f"q{g}" for g in range(16) for _ in range(8)]
VECTORS = Path(__file__).resolve().parents[1] / "tests" / "data" / "ema_grpo_reference.jsonl"


def _clustered(centre: float, spread: float, steps: int = 100, seed: int = 1) -> list[tuple]:
    rng = np.random.default_rng(seed)
    return [
        (
            (centre + spread * rng.standard_normal(128)).tolist(),
            UIDS,
            ["ocr"] * 128,
            ["image"] * 128,
        )
        for _ in range(steps)
    ]


def _reference_steps() -> list[tuple]:
    rows = [json.loads(line) for line in VECTORS.read_text().splitlines() if line.strip()]
    return [
        (
            r["inputs"]["scores"],
            r["inputs"]["uid"],
            r["inputs"]["problem_type"],
            r["inputs"]["data_type"],
        )
        for r in rows
    ]


def _advantages(
    steps: list[tuple], arithmetic: object | None, profile: str = "onethinker"
) -> np.ndarray:
    saved = list(core._TORCH_ARITHMETIC)
    if arithmetic is not None:
        core._TORCH_ARITHMETIC[:] = [arithmetic]
    try:
        norm = EMARewardNormalizer(profile=profile)
        return np.concatenate(
            [ema_grpo(s, u, t, data_types=d, normalizer=norm) for s, u, t, d in steps]
        )
    finally:
        core._TORCH_ARITHMETIC[:] = saved


def numpy_fallback() -> None:
    print("| task's rewards | advantages equal bit for bit | largest difference |")
    print("|---|---|---|")
    cases = [("the reference steps", _reference_steps())] + [
        (f"around {c}, std {s}", _clustered(c, s))
        for c, s in [(1.0, 0.3), (0.9, 0.05), (1.31, 0.01), (1.31, 0.003)]
    ]
    for name, steps in cases:
        torch_adv = _advantages(steps, core._TorchFloat32())
        numpy_adv = _advantages(steps, core._NumpyFloat32())
        same = float(np.mean(torch_adv == numpy_adv))
        print(f"| {name} | {same:.0%} | {np.max(np.abs(torch_adv - numpy_adv)):.2g} |")


def strict_drift() -> None:
    print(
        "\n| accuracy spread | sigma onethinker | sigma strict | relative "
        "| largest advantage difference |"
    )
    print("|---|---|---|---|---|")
    for sd in (0.05, 0.01, 0.003, 0.0015):
        rng = np.random.default_rng(2026)
        a, b = EMARewardNormalizer(), EMARewardNormalizer(profile="strict")
        worst = 0.0
        for _ in range(50):
            acc = np.clip(0.9 + sd * rng.standard_normal(128), 0, 1)
            sc = (0.9 * acc + 0.6).tolist()
            x = ema_grpo(sc, UIDS, ["segmentation"] * 128, data_types=["image"] * 128, normalizer=a)
            y = ema_grpo(sc, UIDS, ["segmentation"] * 128, data_types=["image"] * 128, normalizer=b)
            worst = max(worst, float(np.max(np.abs(x - y))))
        k = "segmentation/image"
        rel = abs(a.std(k) - b.std(k)) / b.std(k)
        print(f"| {sd} | {a.std(k):.7f} | {b.std(k):.7f} | {rel:.2g} | {worst:.2g} |")


if __name__ == "__main__":
    numpy_fallback()
    strict_drift()
