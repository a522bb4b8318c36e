"""The report's numbers, checked against hand computations and independent calls of
unireward.metrics / unireward.advantage on the whole set (the report streams and folds)."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from unireward import metrics
from unireward.advantage import EMARewardNormalizer, ema_grpo
from unireward.report import build_report
from unireward.report._benchmarks import CHUNK
from unireward.report._collect import MAX_STEP_ROWS, STEP_ROWS, TREND_BINS, length_bin


def row(
    task: str,
    reward: float,
    acc: float,
    *,
    fmt: float = 1.0,
    st: float = 0.5,
    status: str = "ok",
    **extra: Any,
) -> dict[str, Any]:
    return {"task": task, "reward": reward, "accuracy": acc, "format": fmt, "structure": st,
            "status": status, "reason": None, "completion": "<think>t</think><answer>x</answer>",
            "ground_truth": "x", **extra}


def test_groups_by_hand() -> None:
    """Three groups of two in one step: one all right (same reward), one all wrong (same
    reward), one mixed: zero-std 2/3, all right 1/3, all wrong 1/3; GRPO |A| of the mixed
    group is (1.4/2) / (std + 1e-6) with the unbiased std 0.98995, i.e. 0.7071."""
    rows = [
        row("mc", 1.5, 1.0, problem_id="g1", step=1),
        row("mc", 1.5, 1.0, problem_id="g1", step=1),
        row("mc", 0.1, 0.0, problem_id="g2", step=1),
        row("mc", 0.1, 0.0, problem_id="g2", step=1),
        row("mc", 1.5, 1.0, problem_id="g3", step=1),
        row("mc", 0.1, 0.0, problem_id="g3", step=1),
    ]
    s = build_report(rows).summary()
    g = s["groups"]["tasks"]["mc"]
    assert (g["groups"], g["zero_std_groups"], g["all_right_groups"], g["all_wrong_groups"]) == (
        3,
        2,
        1,
        1,
    )
    assert g["zero_std_share"] == pytest.approx(2 / 3)
    std = math.sqrt(2 * 0.7**2 / 1)
    assert g["mean_abs_advantage_grpo"] == pytest.approx(2 * (0.7 / (std + 1e-6)) / 6, rel=1e-5)
    # EMA-GRPO, first step: sigma is the batch std of all six rewards
    r = np.array([1.5, 1.5, 0.1, 0.1, 1.5, 0.1])
    sigma = math.sqrt((r**2).mean() - r.mean() ** 2)
    assert g["mean_abs_advantage_ema_grpo"] == pytest.approx(2 * 0.7 / (sigma + 1e-6) / 6, rel=1e-5)
    assert s["trend"]["ema_final"]["mc"]["std"] == pytest.approx(sigma, rel=1e-6)
    assert s["tasks"]["mc"]["reward_std"] == pytest.approx(float(r.std()))


def test_ema_replay_follows_the_steps() -> None:
    """Two tasks over five steps: the per-step EMA std and the mean |A| equal a manual replay
    of ema_grpo step by step; the share of |A| per task sums to 1."""
    rng = random.Random(5)
    rows, per_step = [], []
    for step in range(5):
        batch = []
        for p in range(6):
            task = "numerical" if p % 2 else "temporal grounding"
            for _ in range(4):
                acc = rng.choice([0.0, 1.0]) if task == "numerical" else rng.random()
                batch.append(
                    row(task, 0.9 * acc + 0.1 + 0.5, acc, problem_id=f"s{step}p{p}", step=step * 10)
                )
        rows += batch
        per_step.append(batch)
    s = build_report(rows).summary()
    norm = EMARewardNormalizer()
    sums: dict[str, float] = {}
    stds: dict[str, list[float]] = {"numerical": [], "temporal grounding": []}
    for batch in per_step:
        adv = ema_grpo(
            [b["reward"] for b in batch],
            [b["problem_id"] for b in batch],
            [b["task"] for b in batch],
            normalizer=norm,
        )
        for b, a in zip(batch, adv, strict=True):
            sums[b["task"]] = sums.get(b["task"], 0.0) + abs(float(a))
        for k in stds:
            stds[k].append(norm.std(k))
    for task, total in sums.items():
        assert s["groups"]["tasks"][task]["mean_abs_advantage_ema_grpo"] == pytest.approx(
            total / 60
        )
    assert s["trend"]["ema_std"]["x"] == [0, 10, 20, 30, 40]
    for k, v in stds.items():
        assert s["trend"]["ema_std"]["keys"][k] == pytest.approx(v)
    shares = [g["advantage_share_ema_grpo"] for g in s["groups"]["tasks"].values()]
    assert sum(shares) == pytest.approx(1.0)
    # per-step means, by hand
    tr = s["trend"]["tasks"]["numerical"]
    assert tr["x"] == [0, 10, 20, 30, 40]
    for i, batch in enumerate(per_step):
        mine = [b["reward"] for b in batch if b["task"] == "numerical"]
        assert tr["reward"][i] == pytest.approx(sum(mine) / len(mine))


def test_file_order_bins_and_batches_without_step() -> None:
    rows = [row("ocr", (i % 3) / 2, 0.5, problem_id=f"p{i // 8}") for i in range(3000)]
    data = build_report(rows)
    s = data.summary()
    tr = s["trend"]
    assert (
        tr["by"] == "rows" and tr["bin_rows"] == 64
    )  # 3000 rows in at most 64 bins: 47 bins of 64
    t = tr["tasks"]["ocr"]
    assert len(t["x"]) <= TREND_BINS and sum(t["rows"]) == 3000
    assert t["x"][1] == 64 and t["rows"][0] == 64
    assert t["reward"][0] == pytest.approx(sum((i % 3) / 2 for i in range(64)) / 64)
    # batches cut at group boundaries: every group of 8 stays whole, no group of one
    g = s["groups"]["tasks"]["ocr"]
    assert g["groups"] == 375 and g["groups_of_one"] == 0
    assert s["groups"]["steps"] == math.ceil(
        3000 / (STEP_ROWS + 0)
    )  # 1024-row batches (a multiple of 8)


def test_no_group_column_gives_groups_of_one() -> None:
    rows = [{k: v for k, v in row("ocr", 1.0, 0.5).items()} for _ in range(5)]
    s = build_report(rows).summary()
    assert s["groups"]["column"] is False
    g = s["groups"]["tasks"]["ocr"]
    assert g["groups"] == 0 and g["groups_of_one"] == 5 and g["mean_abs_advantage_grpo"] == 0.0


def test_error_rows_are_apart() -> None:
    rows = [
        row("temporal grounding", 1.4, 0.9),
        row(
            "temporal grounding",
            0.0,
            0.0,
            fmt=0.0,
            st=0.0,
            status="error",
            reason="temporal grounding ground truth is bad",
        ),
        row("nonsense", 0.0, 0.0, fmt=0.0, st=0.0, status="error", reason="no scorer registered"),
        {"task": "ocr", "reward": "high", "accuracy": 1, "format": 1, "structure": 0.5},
    ]
    s = build_report(rows).summary()
    assert (
        s["rows_read"] == 4
        and s["scored_rows"] == 1
        and s["error_rows"] == 2
        and s["skipped_rows"] == 1
    )
    assert (
        list(s["tasks"]) == ["temporal grounding"] and s["tasks"]["temporal grounding"]["rows"] == 1
    )
    assert s["benchmarks"]["temporal grounding"]["temporal grounding"]["samples"] == 1
    assert s["errors"]["by_task"] == {"temporal grounding": 1, "nonsense": 1}
    assert [e["reason"] for e in s["errors"]["examples"]] == [
        "temporal grounding ground truth is bad",
        "no scorer registered",
    ]


def test_examples_best_worst_wrong() -> None:
    rows = [
        row("ocr", 0.6, 0.0, ground_truth="truth zero"),
        row("ocr", 1.5, 1.0, ground_truth="truth one"),
        row("ocr", 0.05, 0.5, fmt=0.0, st=0.0, status="no_tags"),
        row("ocr", 0.7, 0.1),
    ]
    ex = build_report(rows).summary()["examples"]["ocr"]
    assert (ex["best"]["row"], ex["best"]["truth"], ex["best"]["reward"]) == (2, "truth one", 1.5)
    assert (ex["worst"]["row"], ex["worst"]["status"]) == (3, "no_tags")
    assert [e["row"] for e in ex["wrong_formatted"]] == [1, 4]
    assert [e["row"] for e in ex["format_failures"]] == [3]
    assert ex["wrong_formatted"][0]["truth"] == "truth zero"


def test_lengths_and_tokens() -> None:
    rows = [
        row("ocr", 1.0, 1.0, completion="x" * n, completion_tokens=n // 4)
        for n in (0, 1, 999, 1000, 5000)
    ]
    t = build_report(rows).summary()["tasks"]["ocr"]
    assert t["chars_max"] == 5000 and t["chars_mean"] == pytest.approx(
        (0 + 1 + 999 + 1000 + 5000) / 5
    )
    assert t["chars_histogram"][length_bin(1000)] == 2 and t["chars_histogram"][0] == 1
    # half-octave bins: 999 and 1000 lie in [2^9.5, 2^10) = [724, 1024)
    assert length_bin(1000) == 1 + int(2 * math.log2(1000)) == 20
    assert t["tokens_histogram"][0] == 2 and t["tokens_mean"] == pytest.approx(
        (0 + 0 + 249 + 250 + 1250) / 5
    )


def test_temporal_and_spatial_fold_over_chunks_equals_metrics() -> None:
    """More than two chunks of IoUs: the folded numbers equal unireward.metrics on the whole set."""
    rng = np.random.default_rng(0)
    n = 2 * CHUNK + 123
    t_iou, s_iou = rng.random(n), rng.random(n)
    rows = [row("temporal grounding", 0.9 * a + 0.6, a) for a in t_iou] + \
           [row("spatial grounding", 0.9 * a + 0.6, a) for a in s_iou]
    b = build_report(rows).summary()["benchmarks"]
    t = b["temporal grounding"]["temporal grounding"]
    want = metrics.recall_at(t_iou)
    assert t["samples"] == n and t["mIoU"] == pytest.approx(t_iou.mean())
    for k in ("R@0.3", "R@0.5", "R@0.7"):
        assert t[k] == pytest.approx(want[k])
    s = b["spatial grounding"]["spatial grounding"]
    assert s["Acc@0.5"] == pytest.approx(float(np.mean(s_iou >= 0.5))) and s[
        "mIoU"
    ] == pytest.approx(s_iou.mean())


def test_segmentation_from_mask_counts() -> None:
    counts = [(5, 10), (0, 4), (3, 3), (0, 0)]
    rows = [
        row("segmentation", 1.0, 0.5, data_type="image", mask_intersection=i, mask_union=u)
        for i, u in counts
    ]
    seg = build_report(rows).summary()["benchmarks"]["segmentation"]["segmentation"]
    assert seg["samples"] == 4
    assert seg["gIoU"] == pytest.approx((0.5 + 0.0 + 1.0 + 1.0) / 4)  # two empty masks agree: IoU 1
    assert seg["cIoU"] == pytest.approx(8 / 17)


def test_state_is_bounded() -> None:
    """What the report keeps after 30k rows (no step column, groups of 8, long completions):
    no buffered step, at most TREND_BINS trend points per task, a bounded number of
    examples, benchmark buffers under one chunk. (Peak memory at 1M rows is measured in
    benchmarks/bench_report.py.)"""
    rng = random.Random(1)
    rows = (
        row(
            ["ocr", "numerical", "temporal grounding"][i % 3],
            rng.random() * 1.5,
            rng.random(),
            problem_id=f"p{i // 8}",
            completion="y" * rng.randrange(3000),
        )
        for i in range(30_000)
    )
    data = build_report(rows)
    assert not data._buf and all(len(p) <= TREND_BINS for p in data.trend.values())
    for ex in data.examples.values():
        assert len(ex["wrong_formatted"]) <= 5 and len(ex["format_failures"]) <= 2
        assert len(ex["best"]["completion"]) <= 2100
    assert all(len(fold.buf) < CHUNK for _, fold in data.bench.folds.values())
    assert data.summary()["scored_rows"] == 30_000 and MAX_STEP_ROWS >= STEP_ROWS


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
KEYS = ("task", "problem_type", "completion", "response", "ground_truth", "solution", "data_type",
        "problem_id", "prompt", "step", "reward", "accuracy", "format", "structure", "status",
        "reason", "completion_tokens", "mask_intersection", "mask_union", "_raw")
TASKS = st.sampled_from(
    [
        "tracking",
        "spatio-temporal grounding",
        "temporal grounding",
        "spatial grounding",
        "segmentation",
        "ocr",
        "nonsense",
    ]
)


@settings(max_examples=150, deadline=None)
@example(
    [
        {"task": "ocr", "reward": 1e308, "accuracy": 1e200, "format": 1, "structure": 0},
        {"task": "ocr", "reward": 10**400, "accuracy": 1, "format": 1, "structure": 0},
        {
            "task": "tracking",
            "reward": 1,
            "accuracy": 1,
            "format": 1,
            "structure": 0,
            "solution": {"boxes": []},
        },
        {
            "task": "spatio-temporal grounding",
            "reward": 1,
            "accuracy": 1,
            "format": 1,
            "structure": 0,
            "solution": '{"time": [0, 1], "boxes": {"x": [0, 0, 1, 1]}}',
            "completion": '<answer>{"time": [0, 1e400]}</answer>',
        },
        {
            "task": "ocr",
            "reward": 1,
            "accuracy": 1,
            "format": 1,
            "structure": 0,
            "step": "later",
            "problem_id": [1],
        },
    ]
)
@given(
    st.lists(
        st.fixed_dictionaries(
            {}, optional={k: (TASKS | json_values) if k == "task" else json_values for k in KEYS}
        ),
        max_size=12,
    )
)
def test_hostile_rows_never_break_the_report(rows: list[dict[str, Any]]) -> None:
    """Arbitrary rows: every row is counted once (scored, error or skipped), the summary is
    strict JSON and the page renders."""
    import json

    from unireward.report import render_report

    s = build_report(rows).summary()
    assert s["rows_read"] == len(rows) == s["scored_rows"] + s["error_rows"] + s["skipped_rows"]
    json.dumps(s, allow_nan=False, default=str)
    page = render_report(s)
    assert page.startswith("<!doctype html>") and "<script" not in page


def test_steps_out_of_order_and_long_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    from unireward.report import _collect

    s = build_report(
        [row("ocr", 1.0, 1.0, problem_id="a", step=st) for st in (0, 1, 1, 0, 2, 1)]
    ).summary()
    assert s["groups"]["steps_out_of_order"] == 2 and s["trend"]["ema_std"]["x"] == [0, 1, 0, 2, 1]
    monkeypatch.setattr(_collect, "MAX_STEP_ROWS", 10)
    rows = [
        row("ocr", float(i % 2), float(i % 2), problem_id=f"g{i // 2}", step=0) for i in range(25)
    ]
    rows += [row("ocr", 1.0, 1.0, problem_id="h", step=1) for _ in range(5)]
    s = build_report(rows).summary()
    g = s["groups"]
    assert (g["steps_split"], g["steps_out_of_order"], g["steps"]) == (2, 0, 4)
    assert s["trend"]["tasks"]["ocr"]["x"] == [0, 1] and s["trend"]["tasks"]["ocr"]["rows"] == [
        25,
        5,
    ]
