"""Reward functions with one planted, realistic bug each (most are the plain functions of
``plain.py`` with one line changed). ``BUGS`` lists them with their task and the invariants
expected to catch them; the default ``check_reward(fn, task)`` must report every one.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from . import plain as P

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def _parts(completion: str) -> tuple[float, str]:
    text = P.normalize(completion)
    return (1.0 if P.format_ok(text) else 0.0), P.extract(text)


# 1. Token F1 in NumPy floats: an empty answer makes precision 0/0 = NaN (no fallback to
#    the whole completion, no guard for an empty prediction).
def nan_on_empty_answer(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    text = P.normalize(completion)
    m = _ANSWER.search(text)
    pred = (m.group(1) if m else text).split()
    gold = str(P.unwrap_truth(ground_truth)).split()
    common = sum(min(pred.count(w), gold.count(w)) for w in set(gold))
    with np.errstate(all="ignore"):
        precision = np.float64(common) / len(pred)  # bug: nan for an empty answer
        recall = np.float64(common) / len(gold)
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return P.compose(float(f1), 1.0 if P.format_ok(text) else 0.0, 0.5)


# 2. NaN only for the empty completion.
def nan_for_empty_completion(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    if completion == "":
        return float("nan")  # bug: "nothing to score" as NaN
    return P.plain_reward(completion, ground_truth, task, data_type)


# 3. Sums the IoU of every <answer> block: above 1.5 when <answer> appears twice.
def sums_answer_blocks(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    text = P.normalize(completion)
    fmt = 1.0 if P.format_ok(text) else 0.0
    gt = P.truth_object(ground_truth)
    acc, structure = 0.0, 0.0
    for block in _ANSWER.findall(text):  # bug: every block, not the first
        obj = P.parse_json(block.strip())
        if isinstance(obj, dict):
            a, s = P.spatial_score(obj, gt)
            acc, structure = acc + a, max(structure, s)
    return P.compose(acc, fmt, structure)


# 4. Temporal "IoU" as intersection / truth length: the whole video scores 1.
def temporal_iou_over_truth(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    fmt, answer = _parts(completion)
    obj, gt = P.parse_json(answer), P.truth_object(ground_truth)
    t = P.as_interval(obj.get("time")) if isinstance(obj, dict) else None
    if t is None:
        return P.compose(0.0, fmt, 0.0)
    s, e = gt["time"]
    inter = max(0.0, min(t[1], e) - max(t[0], s))
    acc = inter / (e - s) if e > s else 0.0  # bug: not the union
    return P.compose(acc if math.isfinite(acc) else 0.0, fmt, 0.5)


# 5. Box "IoU" as intersection / predicted area: any box inside the truth scores 1.
def box_iou_over_pred_area(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    fmt, answer = _parts(completion)
    obj, gt = P.parse_json(answer), P.truth_object(ground_truth)
    b = P.as_box(obj.get("boxes")) if isinstance(obj, dict) else None
    if b is None:
        return P.compose(0.0, fmt, 0.0)
    g = P.as_box(gt["boxes"])
    assert g is not None
    iw = max(0.0, min(b[2], g[2]) - max(b[0], g[0]))
    ih = max(0.0, min(b[3], g[3]) - max(b[1], g[1]))
    area = P.box_area(b)
    acc = iw * ih / area if area > 0 else 0.0  # bug: not the union
    return P.compose(acc if math.isfinite(acc) else 0.0, fmt, 0.5)


# 6. Crashes on non-ASCII text inside <answer> (should be errors="ignore").
def ascii_only_answer(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    fmt, answer = _parts(completion)
    answer = answer.encode("ascii").decode()  # bug: UnicodeEncodeError on "狗"
    gold = str(P.unwrap_truth(ground_truth))
    return P.compose(P.ocr_accuracy(answer, gold), fmt, 0.5)


# 7. A reward that changes on every 7th call (a shared sampler state, a batch-size bug).
class EverySeventhCall:
    __name__ = "every_seventh_call"

    def __init__(self) -> None:
        self.calls = 0

    def __call__(
        self, completion: str, ground_truth: Any, task: str, data_type: str | None = None
    ) -> float:
        self.calls += 1
        r = P.plain_reward(completion, ground_truth, task, data_type)
        return r * 0.5 if self.calls % 7 == 0 else r  # bug: state changes the reward


# 8. Interval intersection not clamped at 0: disjoint intervals score below 0.
def unclamped_interval_intersection(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    fmt, answer = _parts(completion)
    obj, gt = P.parse_json(answer), P.truth_object(ground_truth)
    t = P.as_interval(obj.get("time")) if isinstance(obj, dict) else None
    if t is None:
        return P.compose(0.0, fmt, 0.0)
    g = gt["time"]
    inter = min(t[1], g[1]) - max(t[0], g[0])  # bug: no max(0, ...)
    union = max(t[1], g[1]) - min(t[0], g[0])
    acc = inter / union if union > 1e-12 else 0.0
    return P.compose(acc if math.isfinite(acc) else 0.0, fmt, 0.5)


# 9. Box width and height not clamped: two negative overlaps multiply into a positive area.
def unclamped_box_intersection(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    fmt, answer = _parts(completion)
    obj, gt = P.parse_json(answer), P.truth_object(ground_truth)
    b = P.as_box(obj.get("boxes")) if isinstance(obj, dict) else None
    if b is None:
        return P.compose(0.0, fmt, 0.0)
    g = P.as_box(gt["boxes"])
    assert g is not None
    iw = min(b[2], g[2]) - max(b[0], g[0])  # bug: no max(0, ...)
    ih = min(b[3], g[3]) - max(b[1], g[1])
    inter = iw * ih
    union = P.box_area(b) + P.box_area(g) - inter
    acc = inter / union if union > 0 else 0.0
    return P.compose(min(1.0, max(0.0, acc)) if math.isfinite(acc) else 0.0, fmt, 0.5)


# 10. Accuracy 1 when the answer does not parse ("give it the benefit of the doubt").
def default_one_on_parse_failure(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    fmt, answer = _parts(completion)
    gt = P.truth_object(ground_truth)
    try:
        obj = json.loads(answer)
        acc, structure = P.spatial_score(obj, gt)
    except (ValueError, AttributeError):
        acc, structure = 1.0, 0.0  # bug: the default should be 0
    return P.compose(acc, fmt, structure)


# 11. Reads the box as the first value of the answer instead of its "boxes" key.
def first_value_not_key(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    fmt, answer = _parts(completion)
    obj, gt = P.parse_json(answer), P.truth_object(ground_truth)
    if not isinstance(obj, dict) or not obj:
        return P.compose(0.0, fmt, 0.0)
    reordered = {
        "boxes": list(obj.values())[0],
        **{k: v for k, v in obj.items() if k != "boxes"},
    }  # bug
    acc, structure = P.segmentation_score(reordered, gt, "image")
    return P.compose(acc, fmt, structure)


# 12. Caches rewards by ground truth only: every answer to a seen truth gets the first reward.
class CacheByTruth:
    __name__ = "cache_by_truth"

    def __init__(self) -> None:
        self.cache: dict[str, float] = {}

    def __call__(
        self, completion: str, ground_truth: Any, task: str, data_type: str | None = None
    ) -> float:
        key = json.dumps(ground_truth, sort_keys=True)  # bug: the completion is not in the key
        if key not in self.cache:
            self.cache[key] = P.plain_reward(completion, ground_truth, task, data_type)
        return self.cache[key]


# 13. A negative penalty for a broken format.
def negative_format_penalty(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    fmt, answer = _parts(completion)
    if not fmt:
        return -0.5  # bug: below the documented range [0, 1.5]
    return P.compose(P.numerical_accuracy(answer, str(P.unwrap_truth(ground_truth))), fmt, 0.5)


# 14. Tracking accuracy averaged over the predicted frames instead of the truth's frames.
def tracking_mean_over_predicted(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    fmt, answer = _parts(completion)
    obj, gt = P.parse_json(answer), P.truth_object(ground_truth)
    if not isinstance(obj, dict):
        return P.compose(0.0, fmt, 0.0)
    _, structure = P.tracking_score(obj, gt)
    pred = P._boxes_dict(obj.get("boxes")) or {}
    ious = [
        P.box_iou(b, gt["boxes"][k]) if b and k in gt["boxes"] else 0.0 for k, b in pred.items()
    ]
    acc = sum(ious) / len(ious) if ious else 0.0  # bug: a missing frame costs nothing
    return P.compose(acc, fmt, structure)


# 15. Matches predicted to true points in the order given instead of the best assignment.
def points_in_given_order(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    fmt, answer = _parts(completion)
    obj, gt = P.parse_json(answer), P.truth_object(ground_truth)
    if not isinstance(obj, dict):
        return P.compose(0.0, fmt, 0.0)

    def sim(p: Any, g: Any) -> float:
        try:
            d = (
                sum(
                    math.dist(tuple(map(P.num, a)), tuple(map(P.num, b)))
                    for a, b in zip(p, g, strict=True)
                )
                / 3
            )
        except (TypeError, ValueError):
            return 0.0
        v = math.exp(-d * d / (2 * 50.0**2))  # bug: zip, not the best of the 6 assignments
        return v if math.isfinite(v) else 0.0

    b = P.as_box(obj.get("boxes"))
    biou = P.box_iou(b, gt["boxes"]) if b else 0.0
    acc = (
        0.5 * biou
        + 0.25 * sim(obj.get("positive_points", []), gt["positive_points"])
        + 0.25 * sim(obj.get("negative_points", []), gt["negative_points"])
    )
    return P.compose(acc, fmt, 0.5 if b else 0.0)


# 16. No tag normalisation: "< answer >" is not found (TRL signature).
def whitespace_sensitive_tags(
    prompts: list[Any], completions: list[str], solution: list[Any], **kw: Any
) -> list[float]:
    out = []
    for completion, gold in zip(completions, solution, strict=True):
        m = _ANSWER.search(completion)  # bug: no normalisation of "< answer >"
        answer = m.group(1).strip() if m else completion.strip()
        fmt = 1.0 if P.format_ok(completion) else 0.0
        out.append(P.compose(P.choice_accuracy(answer, str(P.unwrap_truth(gold))), fmt, 0.5))
    return out


# 17. Reads the ground truth with json.loads only: a dict or an <answer>-wrapped truth breaks.
def truth_as_json_text_only(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    fmt, answer = _parts(completion)
    gt = json.loads(ground_truth)  # bug: no unwrapping, no dicts
    obj = P.parse_json(answer)
    acc, structure = P.temporal_score(obj, gt) if isinstance(obj, dict) else (0.0, 0.0)
    return P.compose(acc, fmt, structure)


# 18. "The answer contains the right letter" (TRL signature): listing every option wins.
def substring_choice(
    prompts: list[Any], completions: list[str], solution: list[Any], **kw: Any
) -> list[float]:
    out = []
    for completion, gold in zip(completions, solution, strict=True):
        fmt, answer = _parts(completion)
        hit = str(P.unwrap_truth(gold)).strip() in answer  # bug: containment, not equality
        out.append(P.compose(1.0 if hit else 0.0, fmt, 0.5))
    return out


# 19. Regression accuracy 1 - relative error, not clamped: far answers score below 0.
def unclamped_relative_error(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    fmt, answer = _parts(completion)
    try:
        p, g = P.to_float(answer), P.to_float(str(P.unwrap_truth(ground_truth)))
        acc = 1.0 - abs(p - g) / (abs(g) + 1e-8)  # bug: no max(0, ...)
    except ValueError:
        acc = 0.0
    return P.compose(acc if math.isfinite(acc) else 0.0, fmt, 0.5)


# 20. The format weight forgotten on the accuracy: the perfect answer scores 1.6.
def forgot_format_weight(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    text = P.normalize(completion)
    fmt = 1.0 if P.format_ok(text) else 0.0
    obj, gt = P.parse_json(P.extract(text)), P.truth_object(ground_truth)
    acc, structure = P.st_score(obj, gt) if isinstance(obj, dict) else (0.0, 0.0)
    return acc + P.W * fmt + (structure if fmt else 0.0)  # bug: acc, not (1 - w) * acc


# 21. A running-mean baseline subtracted inside the reward (state leaking between calls).
class RunningBaseline:
    __name__ = "running_baseline"

    def __init__(self) -> None:
        self.total, self.n = 0.0, 0

    def __call__(
        self, completion: str, ground_truth: Any, task: str, data_type: str | None = None
    ) -> float:
        r = P.plain_reward(completion, ground_truth, task, data_type)
        self.total, self.n = self.total + r, self.n + 1
        return min(1.5, max(0.0, r - self.total / self.n + 0.75))  # bug: depends on earlier calls


# 22. The spatial half of spatio-temporal grounding counts dropped frames as perfect, and
#     the key overlap is forgotten in the structure reward.
def st_structure_without_overlap(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    text = P.normalize(completion)
    fmt = 1.0 if P.format_ok(text) else 0.0
    obj, gt = P.parse_json(P.extract(text)), P.truth_object(ground_truth)
    if not isinstance(obj, dict):
        return P.compose(0.0, fmt, 0.0)
    acc, structure = P.st_score(obj, gt)
    shared = (
        set(obj.get("boxes") or {}) & set(gt["boxes"])
        if isinstance(obj.get("boxes"), dict)
        else set()
    )
    structure = 0.5 if shared or structure >= 0.25 else structure  # bug: the overlap term is gone
    return P.compose(acc, fmt, structure)


#: (function or class to instantiate, task, invariants of which at least one must fail)
BUGS: list[tuple[Any, str, set[str]]] = [
    (nan_on_empty_answer, "open-ended", {"finite_and_bounded"}),
    (nan_for_empty_completion, "numerical", {"finite_and_bounded"}),
    (sums_answer_blocks, "spatial grounding", {"finite_and_bounded"}),
    (temporal_iou_over_truth, "temporal grounding", {"only_truth_is_max", "symmetric"}),
    (
        box_iou_over_pred_area,
        "spatial grounding",
        {"only_truth_is_max", "symmetric", "shrinking_lowers"},
    ),
    (ascii_only_answer, "ocr", {"never_raises"}),
    (EverySeventhCall, "multiple choice", {"deterministic"}),
    (unclamped_interval_intersection, "temporal grounding", {"finite_and_bounded"}),
    (unclamped_box_intersection, "spatial grounding", {"monotone_in_shift", "only_truth_is_max"}),
    (
        default_one_on_parse_failure,
        "spatial grounding",
        {"damage_never_helps", "only_truth_is_max"},
    ),
    (first_value_not_key, "segmentation", {"key_order"}),
    (CacheByTruth, "temporal grounding", {"only_truth_is_max", "perfect_is_max", "deterministic"}),
    (negative_format_penalty, "numerical", {"finite_and_bounded"}),
    (tracking_mean_over_predicted, "tracking", {"dropping_lowers"}),
    (points_in_given_order, "segmentation", {"point_permutation"}),
    (whitespace_sensitive_tags, "multiple choice", {"whitespace_in_tags"}),
    (truth_as_json_text_only, "temporal grounding", {"ground_truth_shapes"}),
    (substring_choice, "multiple choice", {"only_truth_is_max"}),
    (unclamped_relative_error, "regression", {"finite_and_bounded"}),
    (forgot_format_weight, "spatial-temporal grounding", {"finite_and_bounded", "perfect_is_max"}),
    (RunningBaseline, "numerical", {"deterministic"}),
    (
        st_structure_without_overlap,
        "spatial-temporal grounding",
        {"dropping_lowers", "only_truth_is_max"},
    ),
]
