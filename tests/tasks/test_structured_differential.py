"""The structured scorers against a spec-literal, one-item-at-a-time reimplementation in
plain Python, on large random batches of intact and damaged answers; batch against
one-by-one scoring; the fast checks against the pydantic schemas."""

from __future__ import annotations

import itertools
import json
import math
import random
from typing import Any

import pytest

from unireward.completion import parse_completion
from unireward.result import Status
from unireward.schemas import ANSWER_ADAPTERS
from unireward.tasks.base import ScoreOptions
from unireward.tasks.grounding import (
    SpatialGroundingScorer,
    SpatioTemporalGroundingScorer,
    TemporalGroundingScorer,
)
from unireward.tasks.segmentation import SegmentationScorer
from unireward.tasks.tracking import TrackingScorer

OPTS = ScoreOptions()

# ---- the spec, written out per item ---------------------------------------------------


def num(x: Any) -> float | None:
    if isinstance(x, (bool, int, float, str)):
        try:
            return float(x)
        except ValueError:
            return None
        except OverflowError:
            return math.inf if x > 0 else -math.inf
    return None


def nums(x: Any, n: int) -> list[float] | None:
    if not isinstance(x, list) or len(x) != n:
        return None
    out = [num(v) for v in x]
    return None if None in out else out  # type: ignore[return-value]


def finite(v: list[float]) -> bool:
    return all(math.isfinite(c) for c in v)


def iou1d(p: list[float], g: list[float]) -> float:
    if not finite(p + g):
        return 0.0
    inter = max(0.0, min(p[1], g[1]) - max(p[0], g[0]))
    union = max(p[1], g[1]) - min(p[0], g[0])
    return inter / union if union > 1e-12 else 0.0


def iou2d(p: list[float], g: list[float]) -> float:
    if not finite(p + g):
        return 0.0
    ap = max(0.0, p[2] - p[0]) * max(0.0, p[3] - p[1])
    ag = max(0.0, g[2] - g[0]) * max(0.0, g[3] - g[1])
    inter = max(0.0, min(p[2], g[2]) - max(p[0], g[0])) * max(
        0.0, min(p[3], g[3]) - max(p[1], g[1])
    )
    union = ap + ag - inter
    return inter / union if union > 0 and math.isfinite(inter / union) else 0.0


def kernel(p: list[list[float]], g: list[list[float]]) -> float:
    best = min(
        sum(math.dist(p[i], g[j]) for i, j in enumerate(perm))
        for perm in itertools.permutations(range(3))
    )
    d = best / 3
    v = math.exp(-(d**2) / (2 * 50.0**2))
    return v if math.isfinite(v) else 0.0


def load(ans: str) -> Any:
    try:
        return json.loads(ans)
    except ValueError:
        return None


def ref_temporal(ans: str, gt: dict) -> tuple[float, float]:
    obj = load(ans)
    v = nums(obj.get("time"), 2) if isinstance(obj, dict) else None
    return (0.0, 0.0) if v is None else (iou1d(v, gt["time"]), 0.5)


def ref_spatial(ans: str, gt: dict) -> tuple[float, float]:
    obj = load(ans)
    v = nums(obj.get("boxes"), 4) if isinstance(obj, dict) else None
    return (0.0, 0.0) if v is None else (iou2d(v, gt["boxes"]), 0.5)


def ref_stg(ans: str, gt: dict) -> tuple[float, float]:
    obj = load(ans)
    if not isinstance(obj, dict):
        return 0.0, 0.0
    t = nums(obj.get("time"), 2)
    tiou = iou1d(t, gt["time"]) if t is not None else 0.0
    boxes = obj.get("boxes")
    spatial, overlap, boxes_ok = 0.0, 0.0, False
    if isinstance(boxes, dict):
        boxes_ok = all(nums(b, 4) is not None for b in boxes.values())
        shared = [k for k in gt["boxes"] if k in boxes]
        if shared:
            spatial = sum(
                iou2d(nums(boxes[k], 4), gt["boxes"][k]) if nums(boxes[k], 4) else 0.0
                for k in shared
            ) / len(shared)
        overlap = len(shared) / len(gt["boxes"])
    valid = isinstance(obj.get("time"), list) and len(obj["time"]) == 2 and boxes_ok
    return 0.5 * tiou + 0.5 * spatial, 0.25 * valid + 0.25 * overlap


def ref_tracking(ans: str, gt: dict) -> tuple[float, float]:
    obj = load(ans)
    boxes = obj.get("boxes") if isinstance(obj, dict) else None
    if not isinstance(boxes, dict):
        return 0.0, 0.0
    total = 0.0
    for k, g in gt["boxes"].items():
        b = nums(boxes.get(k), 4) if k in boxes else None
        total += iou2d(b, g) if b is not None else 0.0
    valid = all(nums(b, 4) is not None for b in boxes.values())
    overlap = sum(k in boxes for k in gt["boxes"]) / len(gt["boxes"])
    return total / len(gt["boxes"]), 0.25 * valid + 0.25 * overlap


def ref_segmentation(ans: str, gt: dict, data_type: str) -> tuple[float, float]:
    kind = data_type.lower()
    obj = load(ans)
    if kind not in ("image", "video") or not isinstance(obj, dict):
        return 0.0, 0.0
    pts = []
    for key in ("positive_points", "negative_points"):
        x = obj.get(key)
        if not isinstance(x, list) or len(x) != 3 or any(nums(p, 2) is None for p in x):
            return 0.0, 0.0
        pts.append([nums(p, 2) for p in x])
    t = obj.get("time")
    if kind == "video" and (isinstance(t, (str, list, dict)) or t is None):
        return 0.0, 0.0
    box = nums(obj.get("boxes"), 4)
    b = iou2d(box, gt["boxes"]) if box is not None else 0.0
    p = kernel(pts[0], gt["positive_points"]) if finite(sum(pts[0], [])) else 0.0
    n = kernel(pts[1], gt["negative_points"]) if finite(sum(pts[1], [])) else 0.0
    s = 0.5 if box is not None else 0.0
    if kind == "image":
        return 0.5 * b + 0.25 * p + 0.25 * n, s
    dt = abs(num(t) - gt["time"])  # type: ignore[operator]
    ts = math.exp(-dt / 2) if math.isfinite(dt) else 0.0
    return 0.3 * b + 0.3 * ts + 0.2 * p + 0.2 * n, s


# ---- random answers, intact and damaged --------------------------------------------------

ODD_NUMBERS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e309",
    "true",
    "false",
    '"12.5"',
    '" 7 "',
    '"1_000"',
    '"abc"',
    "null",
    "[]",
    "{}",
    "123456789012345678901234567890" * 12,
]


def number_text(rng: random.Random, v: float) -> str:
    r = rng.random()
    if r < 0.04:
        return rng.choice(ODD_NUMBERS)
    if r < 0.08:
        return json.dumps(str(round(v, 2)))
    return json.dumps(round(v, rng.choice([0, 1, 2])))


def enc(rng: random.Random, x: Any) -> str:
    """JSON text of x, where numbers are sometimes swapped for odd values."""
    if isinstance(x, float):
        return number_text(rng, x)
    if isinstance(x, list):
        items = [enc(rng, v) for v in x]
        r = rng.random()
        if r < 0.03 and items:
            items.pop()
        elif r < 0.05:
            items.append(items[0] if items else "1")
        elif r < 0.07 and len(items) == 2:
            items.reverse()
        return "[" + ", ".join(items) + "]"
    if isinstance(x, dict):
        pairs = [f"{json.dumps(k)}: {enc(rng, v)}" for k, v in x.items() if rng.random() > 0.04]
        if rng.random() < 0.05:
            pairs.append('"extra": [1, "x"]')
        if rng.random() < 0.03 and pairs:
            pairs.append(pairs[0])  # a duplicate key: the last one wins
        return "{" + ", ".join(pairs) + "}"
    return json.dumps(x)


def damage_text(rng: random.Random, text: str) -> str:
    r = rng.random()
    if r < 0.03:
        return text[: rng.randrange(len(text) + 1)]
    if r < 0.05:
        return text.replace('"', "'")
    if r < 0.07:
        return "```json\n" + text + "\n```"
    if r < 0.08:
        return rng.choice(["[1, 2]", '"time"', "42", "null", "{}"])
    return text


def rbox(rng: random.Random) -> list[float]:
    x, y = rng.uniform(0, 800), rng.uniform(0, 800)
    return [x, y, x + rng.uniform(1, 200), y + rng.uniform(1, 200)]


def jitter(rng: random.Random, v: list[float], s: float) -> list[float]:
    return [c + rng.gauss(0, s) for c in v]


def make_case(rng: random.Random, task: str) -> tuple[str, dict, str]:
    if task == "temporal grounding":
        s = rng.uniform(0, 100)
        gt = {"time": [s, s + rng.uniform(0.5, 40)]}
        ans: dict = {"time": jitter(rng, gt["time"], 5)}
        dt = "video"
    elif task == "spatial grounding":
        gt = {"boxes": rbox(rng)}
        ans = {"boxes": jitter(rng, gt["boxes"], 20)}
        if rng.random() < 0.03:
            ans = {"boxes": [ans["boxes"]]}
        dt = "image"
    elif task in ("spatial-temporal grounding", "tracking"):
        keys = [str(k) for k in range(1, rng.randint(2, 9))]
        gt = {"boxes": {k: rbox(rng) for k in keys}}
        pk = [k for k in keys if rng.random() < 0.8] + (["99"] if rng.random() < 0.2 else [])
        if rng.random() < 0.05:
            pk = ["0" + k for k in pk]
        ans = {"boxes": {k: jitter(rng, gt["boxes"].get(k.lstrip("0"), rbox(rng)), 15) for k in pk}}
        if rng.random() < 0.03:
            ans["boxes"] = {}
        if task == "spatial-temporal grounding":
            s = rng.uniform(0, 50)
            gt["time"] = [s, s + rng.uniform(1, 20)]
            ans["time"] = jitter(rng, gt["time"], 3)
            if rng.random() < 0.03:
                ans["time"] = ["a", "b"]
            if rng.random() < 0.03:
                ans["boxes"] = rbox(rng)
        dt = "video"
    else:
        dt = rng.choice(["image", "video", "Video", "IMAGE", "audio"])
        gt = {
            "boxes": rbox(rng),
            "positive_points": [[rng.uniform(0, 1000), rng.uniform(0, 1000)] for _ in range(3)],
            "negative_points": [[rng.uniform(0, 1000), rng.uniform(0, 1000)] for _ in range(3)],
            "time": rng.uniform(0, 30),
        }
        ans = {
            "boxes": jitter(rng, gt["boxes"], 20),
            "positive_points": [jitter(rng, p, 40) for p in rng.sample(gt["positive_points"], 3)],
            "negative_points": [jitter(rng, p, 40) for p in gt["negative_points"]],
            "time": gt["time"] + rng.gauss(0, 2),
        }
        r = rng.random()
        if r < 0.05:
            ans["time"] = str(round(ans["time"], 1))
        elif r < 0.07:
            ans["time"] = [ans["time"]]
        elif r < 0.1:
            del ans["time"]
        if rng.random() < 0.04:
            ans["boxes"] = None
    return damage_text(rng, enc(rng, ans)), gt, dt


SCORERS = {
    "temporal grounding": (TemporalGroundingScorer(), lambda a, g, d: ref_temporal(a, g)),
    "spatial grounding": (SpatialGroundingScorer(), lambda a, g, d: ref_spatial(a, g)),
    "spatial-temporal grounding": (SpatioTemporalGroundingScorer(), lambda a, g, d: ref_stg(a, g)),
    "tracking": (TrackingScorer(), lambda a, g, d: ref_tracking(a, g)),
    "segmentation": (SegmentationScorer(), ref_segmentation),
}


@pytest.fixture(scope="module", params=sorted(SCORERS))
def batch(request: pytest.FixtureRequest) -> tuple[str, list[tuple[str, dict, str]]]:
    rng = random.Random(hash(request.param) % 1000)
    return request.param, [make_case(rng, request.param) for _ in range(1500)]


def test_batch_matches_spec_reimplementation(batch: tuple[str, list]) -> None:
    task, cases = batch
    scorer, ref = SCORERS[task]
    truths = [scorer.prepare_ground_truth(json.dumps(g), d) for _, g, d in cases]
    outs = scorer.score_many([a for a, _, _ in cases], truths, [d for _, _, d in cases], OPTS)
    kinds = set()
    for (answer, gt, dt), out in zip(cases, outs, strict=True):
        acc, struct = ref(answer, gt, dt)
        assert math.isfinite(out.accuracy)
        assert (out.accuracy, out.structure) == pytest.approx((acc, struct), abs=1e-12), (
            answer,
            gt,
            dt,
            out,
        )
        kinds.add(out.status)
        if out.status is Status.OK:
            assert out.reason is None
        else:
            assert out.reason
    assert {Status.OK, Status.MALFORMED_JSON, Status.SCHEMA_ERROR, Status.NON_FINITE} <= kinds


def test_batch_equals_one_by_one(batch: tuple[str, list]) -> None:
    task, cases = batch
    scorer, _ = SCORERS[task]
    for opts in (OPTS, ScoreOptions(profile="strict")):
        truths = [scorer.prepare_ground_truth(g, d) for _, g, d in cases]
        together = scorer.score_many(
            [a for a, _, _ in cases], truths, [d for _, _, d in cases], opts
        )
        alone = [
            scorer.score(a, t, data_type=d, options=opts)
            for (a, _, d), t in zip(cases, truths, strict=True)
        ]
        assert together == alone


def test_fast_checks_agree_with_pydantic_schemas(batch: tuple[str, list]) -> None:
    """Where the answer parses, the scorer flags a schema error exactly when the pydantic
    model rejects the answer."""
    task, cases = batch
    scorer, _ = SCORERS[task]
    truths = [scorer.prepare_ground_truth(g, d) for _, g, d in cases]
    outs = scorer.score_many([a for a, _, _ in cases], truths, [d for _, _, d in cases], OPTS)
    for (answer, _, dt), out in zip(cases, outs, strict=True):
        key = task
        if task == "segmentation":
            if dt.lower() not in ("image", "video"):
                assert out.status is Status.SCHEMA_ERROR and "data_type" in (out.reason or "")
                continue
            key = f"segmentation/{dt.lower()}"
        obj = load(answer)
        if obj is None and answer.strip() != "null":
            assert out.status is Status.MALFORMED_JSON
            continue
        try:
            ANSWER_ADAPTERS[key].validate_python(obj)
            valid = True
        except ValueError:
            valid = False
        assert (out.status is not Status.SCHEMA_ERROR) == valid, (answer, out)


def test_columns_equal_outcomes(batch: tuple[str, list]) -> None:
    """The deprecated ``score_columns`` says what ``score_many`` says."""
    task, cases = batch
    scorer, _ = SCORERS[task]
    truths = [scorer.prepare_ground_truth(g, d) for _, g, d in cases]
    args = ([a for a, _, _ in cases], truths, [d for _, _, d in cases], OPTS)
    with pytest.warns(DeprecationWarning, match="score_columns"):
        acc, struct, special = scorer.score_columns(*args)
    outs = scorer.score_many(*args)
    assert list(acc) == [o.accuracy for o in outs]
    assert list(struct) == [o.structure for o in outs]
    assert dict(special) == {
        i: o for i, o in enumerate(outs) if o.status is not Status.OK or o.reason
    }
    assert special  # the batches hold damaged answers


WRAPPERS = [
    "<think>{t}</think>\n<answer>{a}</answer>",
    "<think>{t}</think><answer>{a}</answer>",
    "  <think>{t}</think>  <answer> {a} </answer>\n",
    "< think >{t}< /think > < answer >{a}< / answer >",
    "<think>{t}</think>\n<answer>{a}</answer> done",
    "<think>{t} < x</think><answer>{a}</answer>",
    "<answer>{a}</answer>",
    "{a}",
    "<think>{t}</think><answer></answer>",
    "<think>{t}</think><answer>{a}</answer><answer>{a}</answer>",
]


def test_score_batch_equals_score_one_by_one() -> None:
    """The API's batch path (fast scan, columns, hot composition loop) gives exactly the
    results of ``unireward.score`` per record, on a mixed batch with every wrapper shape."""
    import unireward

    rng = random.Random(7)
    records = []
    for k in range(3000):
        task = sorted(SCORERS)[k % len(SCORERS)]
        answer, gt, dt = make_case(rng, task)
        think = rng.choice(["t", "a / b -> c", "x  >  y", "", "1/2 of the frame"])
        completion = rng.choice(WRAPPERS).format(t=think, a=answer)
        records.append(
            {
                "completion": completion,
                "ground_truth": json.dumps(gt),
                "task": task,
                "data_type": dt,
            }
        )
    for extra in ({}, {"profile": "strict"}, {"format_weight": 0.25}):
        batch = unireward.score_batch(records, **extra)
        alone = [
            unireward.score(
                r["completion"], r["ground_truth"], r["task"], data_type=r["data_type"], **extra
            )
            for r in records
        ]
        assert batch == alone
        assert all(type(r) is unireward.RewardResult and type(r.total) is float for r in batch)
        # and the totals from the full parse (normalised text, no fast scan) and score_many
        w = extra.get("format_weight", 0.1)
        opts = ScoreOptions(**{k: v for k, v in extra.items() if k == "profile"})
        for r, res in zip(records, batch, strict=True):
            p = parse_completion(r["completion"])
            scorer = SCORERS[r["task"]][0]
            out = scorer.score_many(
                [p.answer],
                [scorer.prepare_ground_truth(r["ground_truth"], r["data_type"])],
                [r["data_type"]],
                opts,
            )[0]
            st = out.structure if p.format else 0.0
            assert res.total == (1 - w) * out.accuracy + w * p.format + st
            assert (res.accuracy, res.format, res.structure, res.answer) == (
                out.accuracy,
                p.format,
                st,
                p.answer,
            )
    statuses = {r.status for r in batch}
    assert {
        Status.OK,
        Status.FORMAT_ERROR,
        Status.NO_TAGS,
        Status.MALFORMED_JSON,
        Status.SCHEMA_ERROR,
    } <= statuses


def _hostile_completions():  # type: ignore[no-untyped-def]
    from hypothesis import strategies as st

    piece = st.sampled_from(
        [
            "<think>",
            "</think>",
            "<answer>",
            "</answer>",
            "< answer >",
            "</ answer>",
            "<",
            ">",
            "/",
            " ",
            "\n",
            "\u00a0",
            "\x1c",
            '{"time": [1, 3]}',
            '{"boxes": [0, 0, 10, 10]}',
            '{"boxes": [1e400, 0, 1, 1]}',
            '{"time": ["1", true]}',
            "NaN",
            "[[[[",
            "]]",
            '"',
            "{",
            "}",
            ",",
            "1",
            "-0",
            "9" * 30,
        ]
    )
    return st.one_of(st.lists(piece, max_size=25).map("".join), st.text(max_size=40))


def test_score_batch_on_hostile_completions() -> None:
    """Random hostile completions for the two one-shape tasks: batch equals one by one,
    every total finite and in [0, 1.5], a status on everything that is not plainly ok."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import unireward

    truths = {
        "temporal grounding": '{"time": [2, 4]}',
        "spatial grounding": '{"boxes": [0, 0, 8, 8]}',
    }

    @given(
        st.lists(
            st.tuples(_hostile_completions(), st.sampled_from(sorted(truths))),
            min_size=1,
            max_size=40,
        )
    )
    @settings(max_examples=300, deadline=None)
    def check(rows: list[tuple[str, str]]) -> None:
        records = [{"completion": c, "ground_truth": truths[t], "task": t} for c, t in rows]
        batch = unireward.score_batch(records)
        assert batch == [unireward.score(c, truths[t], t) for c, t in rows]
        for r in batch:
            assert math.isfinite(r.total) and 0.0 <= r.total <= 1.5
            assert r.total == 0.9 * r.accuracy + 0.1 * r.format + r.structure
            assert (r.status is Status.OK) == (not r.issues)

    check()


def test_load_json_is_json_loads() -> None:
    """The C-scanner shortcut of load_json gives json.loads' value, and an error exactly
    when json.loads raises (whitespace around, trailing data, deep nesting, NaN)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from unireward.schemas import load_json

    piece = st.sampled_from(
        [
            '{"a": ',
            "[",
            "]",
            "}",
            "1",
            "-2.5e3",
            "NaN",
            "Infinity",
            '"x"',
            ",",
            " ",
            "\n",
            "\u00a0",
            "true",
            "null",
            '"\\u00e9"',
            "1e400",
            "0" * 3,
            ":",
            "{",
            '"b"',
        ]
    )

    @given(st.one_of(st.lists(piece, max_size=20).map("".join), st.text(max_size=30)))
    @settings(max_examples=1500, deadline=None)
    def check(text: str) -> None:
        try:
            expected: Any = json.loads(text)
        except (ValueError, RecursionError):
            expected = ValueError
        value, err = load_json(text)
        if expected is ValueError:
            assert value is None and err and err.startswith("not valid JSON")
        else:
            assert err is None and json.dumps(value) == json.dumps(expected)

    check()
    deep = "[" * 100_000 + "]" * 100_000
    assert load_json(deep)[0] is None and "recursion" in (load_json(deep)[1] or "")
