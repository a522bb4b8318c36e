"""OpenRLHF's ``/get_reward`` lists turned into scoring records, one problem per row."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..api import FIELD_ALIASES

__all__ = ["EOS_TOKENS", "RowError", "labels_to_records", "response_of"]

#: End-of-sequence and padding markers that OpenRLHF leaves at the end of a decoded query
#: (it decodes with ``skip_special_tokens=False``); the reference scored responses decoded
#: without special tokens, so these are removed from the end of the response.
EOS_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "</s>",
              "<end_of_turn>", "<eos>")
_ANCHORS = (256, 64, 16)

_GT_KEYS = FIELD_ALIASES["ground_truth"]  # ground_truth, answer, solution
_TASK_KEYS = FIELD_ALIASES["task"]  # task, problem_type
_LABEL_KEYS = (*_GT_KEYS, *_TASK_KEYS)


class RowError(str):
    """The reason one row cannot be scored (it gets status ``error``; the batch goes on)."""


def _first(obj: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if obj.get(k) is not None:
            return obj[k]
    return None


def _label_object(label: Any) -> dict[str, Any] | RowError | None:
    """The label as an object naming the ground truth (and task), or None for a bare one."""
    if isinstance(label, str) and label.lstrip().startswith("{"):
        try:
            label = json.loads(label)
        except RecursionError:
            return RowError("label is JSON nested too deeply to read")
        except ValueError:
            return None  # not JSON: the text is the ground truth itself (e.g. "{1, 2}")
    if isinstance(label, dict) and any(k in label for k in _LABEL_KEYS):
        return label
    return None


def response_of(query: str, prompt: str, eos_tokens: tuple[str, ...] = EOS_TOKENS) -> str:
    """The response inside OpenRLHF's ``query`` (the decoded prompt + response tokens).

    Usually the query starts with the prompt. When it does not (the decoded prompt differs
    from the prompt text: a vision processor expands one image placeholder into many
    tokens, a tokenizer does not round-trip), the response starts after the first
    occurrence of the prompt's last characters (256, else 64, else 16) past the common
    prefix. End-of-sequence and padding markers at the end are removed.

    >>> prompt = "<|im_start|>user\\nQ<|im_end|>\\n<|im_start|>assistant\\n"
    >>> response_of(prompt + "<answer>C</answer><|im_end|>", prompt)
    '<answer>C</answer>'
    >>> asked = "<|vision_end|>What is it?<|im_start|>assistant\\n"
    >>> response_of("<|vision_start|><|image_pad|><|image_pad|>" + asked + "A cat",
    ...             "<|vision_start|><|image_pad|>" + asked)
    'A cat'
    """
    if prompt and query.startswith(prompt):
        response = query[len(prompt):]
    elif prompt:
        lo, hi = 0, min(len(query), len(prompt))  # the common prefix, by bisection
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if query.startswith(prompt[:mid]):
                lo = mid
            else:
                hi = mid - 1
        same = lo
        response = query
        for k in _ANCHORS:
            tail = prompt[-k:]
            at = query.find(tail, max(0, same - len(tail)))
            if at >= 0:
                response = query[at + len(tail):]
                break
    else:
        response = query
    stripped = True
    while stripped:
        stripped = False
        body = response.rstrip()
        for token in eos_tokens:
            if token and body.endswith(token):
                response, stripped = body[: -len(token)], True
                break
    return response


def labels_to_records(
    query: list[Any], prompts: list[Any], labels: list[Any], default_task: str | None,
    eos_tokens: tuple[str, ...] = EOS_TOKENS,
) -> list[dict[str, Any] | RowError]:
    """One scoring record (or the reason it cannot be built) per sample.

    The response is ``query`` with its prompt removed (see :func:`response_of`). A label is an
    object (or its JSON text) naming the ground truth as ``ground_truth``, ``answer`` or
    ``solution`` and optionally the task as ``task`` or ``problem_type`` (OneThinker's
    names), ``data_type`` and ``problem_id``; any other label is the ground truth itself,
    scored as ``default_task``. The three lists must have one entry per sample (``prompts``
    may be empty); that is checked by the caller.

    >>> labels_to_records(["Q: <answer>B</answer>"], ["Q: "],
    ...                   ['{"problem_type": "multiple choice", "solution": "B"}'], None)[0]
    ... # doctest: +NORMALIZE_WHITESPACE
    {'completion': '<answer>B</answer>', 'ground_truth': 'B', 'task': 'multiple choice',
     'prompt': 'Q: '}
    >>> labels_to_records(["x"], [], ["4"], "numerical")[0]["task"]
    'numerical'
    >>> labels_to_records(["x"], [], ["4"], None)[0]
    "labels[0] names no task (as 'task' or 'problem_type') and the server has no --task default"
    """
    out: list[dict[str, Any] | RowError] = []
    for i, (q, label) in enumerate(zip(query, labels, strict=True)):
        prompt = prompts[i] if prompts else ""
        if not isinstance(q, str):
            out.append(RowError(f"query[{i}] must be a string, got {type(q).__name__}"))
            continue
        if not isinstance(prompt, str):
            out.append(RowError(f"prompts[{i}] must be a string, got {type(prompt).__name__}"))
            continue
        response = response_of(q, prompt, eos_tokens)
        obj = _label_object(label)
        if isinstance(obj, RowError):
            out.append(RowError(f"labels[{i}]: {obj}"))
            continue
        if obj is None:
            truth, task, extra = label, default_task, {}
        else:
            truth, task = _first(obj, _GT_KEYS), _first(obj, _TASK_KEYS) or default_task
            extra = {k: obj[k] for k in ("data_type", "problem_id") if obj.get(k) is not None}
            if truth is None:
                out.append(RowError(f"labels[{i}] has no ground truth "
                                    f"(as {' / '.join(repr(k) for k in _GT_KEYS)})"))
                continue
        if truth is None:
            out.append(RowError(f"labels[{i}] is null"))
            continue
        if not task:
            out.append(RowError(f"labels[{i}] names no task (as 'task' or 'problem_type') "
                                "and the server has no --task default"))
            continue
        rec = {"completion": response, "ground_truth": truth, "task": task, **extra}
        if prompt:
            rec["prompt"] = prompt
        out.append(rec)
    return out
