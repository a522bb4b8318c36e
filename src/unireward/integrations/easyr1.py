"""EasyR1: a batch reward function ``fn(list[RewardInput], **kw) -> list[dict]``.

Point EasyR1's reward config at ``unireward.integrations.easyr1:compute_score``. Each input
is a dict with ``response`` and ``ground_truth`` (and the task under ``problem_type`` or
``task``, plus ``data_type``); each output has ``overall``, ``format`` and ``accuracy``
(and ``structure``).

>>> compute_score([{"response": "<think>t</think><answer>A</answer>", "ground_truth": "A",
...                 "problem_type": "multiple choice"}])
[{'overall': 1.5, 'format': 1.0, 'accuracy': 1.0, 'structure': 0.5}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..api import score_batch

__all__ = ["compute_score"]


def compute_score(
    reward_inputs: Sequence[Mapping[str, Any]],
    format_weight: float = 0.1,
    *,
    task_key: str = "problem_type",
    data_type_key: str = "data_type",
    default_task: str | None = None,
    **options: Any,
) -> list[dict[str, float]]:
    """Score a batch of EasyR1 reward inputs (unscorable rows give 0 with the others intact).

    Args:
        reward_inputs: EasyR1's ``RewardInput`` dicts (``response``, ``ground_truth``, and
            the task under ``task_key``, else ``task``, else ``default_task``).
        format_weight: ``w`` in ``overall = (1 - w) * accuracy + w * format + structure``.
        task_key / data_type_key: the input keys holding the task and the data type.
        default_task: the task of inputs that carry none.
        **options: further scoring options (``profile``, ``math_timeout``, ...).
    """
    records = []
    for x in reward_inputs:
        task = x.get(task_key) or x.get("task") or default_task
        records.append({"completion": x.get("response", ""), "ground_truth": x.get("ground_truth"),
                        "task": task, "data_type": x.get(data_type_key), "problem_id": x.get("problem_id"),
                        "prompt": x.get("problem_reserved_text") or x.get("prompt")})
    results = score_batch(records, errors="record", format_weight=format_weight, **options)
    return [{"overall": r.total, "format": r.format, "accuracy": r.accuracy, "structure": r.structure}
            for r in results]
