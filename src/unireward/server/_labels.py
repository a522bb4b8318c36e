"""OpenRLHF's ``/get_reward`` lists turned into scoring records, one problem per row."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..api import FIELD_ALIASES

__all__ = ["RowError", "labels_to_records"]

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


def labels_to_records(
    query: list[Any], prompts: list[Any], labels: list[Any], default_task: str | None
) -> list[dict[str, Any] | RowError]:
    """One scoring record (or the reason it cannot be built) per sample.

    The response is ``query`` with its prompt removed from the start. A label is an object
    (or its JSON text) naming the ground truth as ``ground_truth``, ``answer`` or
    ``solution`` and optionally the task as ``task`` or ``problem_type`` (OneThinker's
    names), ``data_type`` and ``problem_id``; any other label is the ground truth itself,
    scored as ``default_task``. The three lists must have one entry per sample (``prompts``
    may be empty); that is checked by the caller.

    >>> labels_to_records(["Q: <answer>B</answer>"], ["Q: "],
    ...                   ['{"problem_type": "multiple choice", "solution": "B"}'], None)[0]
    {'completion': '<answer>B</answer>', 'ground_truth': 'B', 'task': 'multiple choice', 'prompt': 'Q: '}
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
        response = q[len(prompt):] if prompt and q.startswith(prompt) else q
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
