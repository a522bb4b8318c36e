"""Plain reward functions written straight from docs/reward-spec.md, one per task family,
the way a user porting the reward would write them (no unireward code).

They must pass ``check_reward`` with no false alarm. The planted bugs in ``planted.py`` are
these functions with one realistic mistake each.
"""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from itertools import permutations
from typing import Any

import jiwer
from rouge_score import rouge_scorer

W = 0.1
_WS = re.compile(r"(\s+)")
_ROUGE = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


# -- completion handling (spec section 1) -------------------------------------------------


def normalize(text: str) -> str:
    """Delete whitespace next to every '<', '>' and '/' (linear: split on whitespace runs)."""
    parts = _WS.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1:  # a whitespace run
            before, after = parts[i - 1], parts[i + 1] if i + 1 < len(parts) else ""
            if (before and before[-1] in "<>/") or (after and after[0] in "<>/"):
                continue
        out.append(part)
    return "".join(out)


def format_ok(text: str) -> bool:
    """``\\A\\s*<think>.*?</think>\\s*<answer>.*?</answer>\\s*\\Z`` without a regex."""
    t = text.strip()
    if not (t.startswith("<think>") and t.endswith("</answer>")):
        return False
    end = len(t) - len("</answer>")
    i = t.find("</think>", len("<think>"))
    while i >= 0:
        rest = t[i + len("</think>") :].lstrip()
        start = len(t) - len(rest)
        if rest.startswith("<answer>") and start + len("<answer>") <= end:
            return True
        i = t.find("</think>", i + 1)
    return False


def extract(text: str) -> str:
    i = text.find("<answer>")
    j = text.find("</answer>", i + len("<answer>")) if i >= 0 else -1
    inner = text[i + len("<answer>") : j].strip() if j >= 0 else ""
    return inner or text.strip()


def unwrap_truth(truth: Any) -> Any:
    if isinstance(truth, str):
        i = truth.find("<answer>")
        j = truth.find("</answer>", i + len("<answer>")) if i >= 0 else -1
        if j >= 0:
            return truth[i + len("<answer>") : j].strip()
    return truth


def compose(accuracy: float, fmt: float, structure: float) -> float:
    return (1 - W) * accuracy + W * fmt + (structure if fmt else 0.0)


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # deeply nested brackets exhaust the decoder's stack
        return None


def truth_object(truth: Any) -> Any:
    truth = unwrap_truth(truth)
    return json.loads(truth) if isinstance(truth, str) else truth


# -- non-structured tasks (spec section 2) ----------------------------------------------


def _choice_norm(x: str) -> str:
    return x.strip().strip("()[]{}$ ").upper()


def choice_accuracy(answer: str, gold: str) -> float:
    return 1.0 if _choice_norm(answer) and _choice_norm(answer) == _choice_norm(gold) else 0.0


def to_float(x: str) -> float:
    return float(x.replace(",", ""))


def numerical_accuracy(answer: str, gold: str) -> float:
    try:
        p, g = to_float(answer), to_float(gold)
    except ValueError:
        return 0.0
    return 1.0 if math.isfinite(p) and round(p, 2) == round(g, 2) else 0.0


def regression_accuracy(answer: str, gold: str) -> float:
    try:
        p, g = to_float(answer), to_float(gold)
    except ValueError:
        return 0.0
    if not math.isfinite(p):
        return 0.0
    e = abs(p - g) / (abs(g) + 1e-8)
    return sum(e < 1 - (0.5 + 0.05 * k) for k in range(10)) / 10


def _math_value(x: str) -> Any:
    """Integers, \\frac{a}{b} and \\sqrt{n} (the forms the truths use); else the text."""
    s = x.strip().strip("$").replace(" ", "")
    if s.lstrip("-").isdigit():
        return Fraction(int(s))
    m = re.fullmatch(r"\\d?frac\{(-?\d{1,6})\}\{(\d{1,6})\}", s)
    if m and int(m.group(2)):
        return Fraction(int(m.group(1)), int(m.group(2)))
    m = re.fullmatch(r"\\sqrt\{(\d{1,6})\}", s)
    if m:
        return ("sqrt", int(m.group(1)))
    return s


def math_accuracy(answer: str, gold: str) -> float:
    p, g = _math_value(answer), _math_value(gold)
    if isinstance(p, tuple) and isinstance(g, tuple):
        return 1.0 if p[1] == g[1] else 0.0
    return 1.0 if p == g and p != "" else 0.0


def ocr_accuracy(answer: str, gold: str) -> float:
    if not gold.split():
        return 0.0
    if not answer.split():
        return 0.0
    return min(1.0, max(0.0, 1.0 - jiwer.wer(gold, answer)))


def rouge_accuracy(answer: str, gold: str) -> float:
    s = _ROUGE.score(gold, answer)
    return min(
        1.0, max(0.0, (s["rouge1"].fmeasure + s["rouge2"].fmeasure + s["rougeL"].fmeasure) / 3)
    )


_TEXT_TASKS = {
    "multiple choice": choice_accuracy,
    "numerical": numerical_accuracy,
    "regression": regression_accuracy,
    "math": math_accuracy,
    "ocr": ocr_accuracy,
    "open-ended": rouge_accuracy,
    "captioning": rouge_accuracy,
}


def plain_text_reward(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    text = normalize(completion)
    fmt = 1.0 if format_ok(text) else 0.0
    gold = str(unwrap_truth(ground_truth))
    return compose(_TEXT_TASKS[task](extract(text), gold), fmt, 0.5)


# -- structured tasks (spec section 3) ----------------------------------------------------


def num(x: Any) -> float:
    """A JSON number, a bool or a numeric string; raises ValueError/TypeError otherwise."""
    if isinstance(x, (bool, int, float)):
        return float(x)
    if isinstance(x, str):
        return float(x)
    raise TypeError(f"not a number: {x!r}")


def is_num(x: Any) -> bool:
    try:
        num(x)
    except (TypeError, ValueError):
        return False
    return True


def interval_iou(p: list[float], g: list[float]) -> float:
    inter = max(0.0, min(p[1], g[1]) - max(p[0], g[0]))
    union = max(p[1], g[1]) - min(p[0], g[0])
    iou = inter / union if union > 1e-12 else 0.0
    return iou if math.isfinite(iou) else 0.0


def box_area(b: list[float]) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def box_iou(p: list[float], g: list[float]) -> float:
    iw = max(0.0, min(p[2], g[2]) - max(p[0], g[0]))
    ih = max(0.0, min(p[3], g[3]) - max(p[1], g[1]))
    inter = iw * ih
    union = box_area(p) + box_area(g) - inter
    iou = inter / union if union > 0 else 0.0
    return iou if math.isfinite(iou) else 0.0


def as_box(x: Any) -> list[float] | None:
    if isinstance(x, list) and len(x) == 4 and all(is_num(v) for v in x):
        return [num(v) for v in x]
    return None


def as_interval(x: Any) -> list[float] | None:
    if isinstance(x, list) and len(x) == 2 and all(is_num(v) for v in x):
        return [num(v) for v in x]
    return None


def point_similarity(p: Any, g: Any) -> float | None:
    """exp(-d^2 / (2 * 50^2)) for the best assignment of 3 points; None for a wrong count."""
    try:
        pp = [(num(a), num(b)) for a, b in p]
        gg = [(num(a), num(b)) for a, b in g]
    except (TypeError, ValueError):
        return None
    if len(pp) != 3 or len(gg) != 3:
        return None
    d = min(
        sum(math.dist(pp[i], gg[j]) for i, j in zip(range(3), perm, strict=True)) / 3
        for perm in permutations(range(3))
    )
    v = math.exp(-d * d / (2 * 50.0**2))
    return v if math.isfinite(v) else 0.0


def _boxes_dict(x: Any) -> dict[str, list[float] | None] | None:
    if not isinstance(x, dict):
        return None
    return {str(k): as_box(v) for k, v in x.items()}


def temporal_score(obj: Any, gt: Any) -> tuple[float, float]:
    t = as_interval(obj.get("time"))
    return (interval_iou(t, as_interval(gt["time"])) if t else 0.0), (0.5 if t else 0.0)


def spatial_score(obj: Any, gt: Any) -> tuple[float, float]:
    b = as_box(obj.get("boxes"))
    return (box_iou(b, as_box(gt["boxes"])) if b else 0.0), (0.5 if b else 0.0)


def tracking_score(obj: Any, gt: Any) -> tuple[float, float]:
    pred, truth = _boxes_dict(obj.get("boxes")), _boxes_dict(gt["boxes"])
    assert truth is not None
    if pred is None:
        return 0.0, 0.0
    ious = [box_iou(pred[k], tb) if pred.get(k) and tb else 0.0 for k, tb in truth.items()]
    valid = all(v is not None for v in pred.values())
    overlap = len(set(pred) & set(truth)) / len(truth)
    return sum(ious) / len(truth), 0.25 * valid + 0.25 * overlap


def st_score(obj: Any, gt: Any) -> tuple[float, float]:
    t = as_interval(obj.get("time"))
    tiou = interval_iou(t, as_interval(gt["time"])) if t else 0.0
    pred, truth = _boxes_dict(obj.get("boxes")), _boxes_dict(gt["boxes"])
    assert truth is not None
    shared = sorted(set(pred or {}) & set(truth))
    spatial = (
        (
            sum(
                box_iou(pred[k], truth[k]) if pred and pred[k] and truth[k] else 0.0 for k in shared
            )  # type: ignore[arg-type]
            / len(shared)
        )
        if shared
        else 0.0
    )
    time = obj.get("time")
    valid = (
        isinstance(time, list)
        and len(time) == 2
        and pred is not None
        and all(v is not None for v in pred.values())
    )
    overlap = len(shared) / len(truth)
    return 0.5 * tiou + 0.5 * spatial, 0.25 * valid + 0.25 * overlap


def segmentation_score(obj: Any, gt: Any, data_type: str) -> tuple[float, float]:
    pos = point_similarity(obj.get("positive_points", []), gt["positive_points"])
    neg = point_similarity(obj.get("negative_points", []), gt["negative_points"])
    b = as_box(obj.get("boxes"))
    biou = box_iou(b, as_box(gt["boxes"])) if b else 0.0
    video = data_type == "video"
    t = obj.get("time")
    t_ok = isinstance(t, (int, float)) and not isinstance(t, bool)
    valid = b is not None and pos is not None and neg is not None and (t_ok or not video)
    if pos is None or neg is None:
        return 0.0, 0.5 * valid
    if video:
        dt = abs(float(t) - num(gt["time"])) if t_ok else math.inf
        tsim = math.exp(-dt / 2) if math.isfinite(dt) else 0.0
        return 0.3 * biou + 0.3 * tsim + 0.2 * pos + 0.2 * neg, 0.5 * valid
    return 0.5 * biou + 0.25 * pos + 0.25 * neg, 0.5 * valid


_JSON_TASKS = {
    "temporal grounding": temporal_score,
    "spatial grounding": spatial_score,
    "tracking": tracking_score,
    "spatial-temporal grounding": st_score,
}


def plain_json_reward(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    text = normalize(completion)
    fmt = 1.0 if format_ok(text) else 0.0
    gt = truth_object(ground_truth)
    obj = parse_json(extract(text))
    if not isinstance(obj, dict):
        return compose(0.0, fmt, 0.0)
    if task == "segmentation":
        acc, structure = segmentation_score(obj, gt, (data_type or "image").lower())
    else:
        acc, structure = _JSON_TASKS[task](obj, gt)
    return compose(acc, fmt, structure)


def plain_reward(
    completion: str, ground_truth: Any, task: str, data_type: str | None = None
) -> float:
    """Any task: the text families or the JSON families."""
    if task in _TEXT_TASKS:
        return plain_text_reward(completion, ground_truth, task, data_type)
    return plain_json_reward(completion, ground_truth, task, data_type)


def plain_trl_reward(
    prompts: list[Any],
    completions: list[str],
    solution: list[Any],
    problem_type: list[str],
    **kwargs: Any,
) -> list[float | None]:
    """TRL's signature over the plain reward; None where the task is not one it knows."""
    types = kwargs.get("data_type") or [None] * len(completions)
    return [
        plain_reward(c, s, t, d)
        if t in _TEXT_TASKS or t in _JSON_TASKS or t == "segmentation"
        else None
        for c, s, t, d in zip(completions, solution, problem_type, types, strict=True)
    ]
