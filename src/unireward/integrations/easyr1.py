"""EasyR1 (and OneThinker's EasyR1 fork): a reward function loaded by file path.

EasyR1 reads ``worker.reward.reward_function=PATH:NAME``, loads ``PATH`` with
``importlib.util.spec_from_file_location("custom_reward_fn", PATH)`` and calls
``functools.partial(fn, **reward_function_kwargs)``. This file therefore has absolute
imports only; its path is printed by
``python -c "import unireward.integrations.easyr1 as m; print(m.__file__)"``.

:func:`compute_score` (also exported as ``main``, EasyR1's default ``NAME``) serves both
reward types: ``batch`` (a list of ``RewardInput`` dicts -> a list of score dicts) and
``sequential`` (one dict -> one dict). Inputs may have the upstream shape (``response``,
``response_length``, ``ground_truth``: the task then comes from ``default_task``) or the
fork's (plus ``data_type``, ``problem_type``, ``problem``, ``problem_id``).

Every score dict has the same keys with float values (EasyR1 averages each key into a
metric): ``overall``, ``format``, ``accuracy``, ``structure`` and ``unscored`` (1.0 for a
sample that could not be scored, e.g. no task or an unknown one; it keeps the recorded
fallback reward, and the batch logs a warning with the reason).

>>> compute_score([{"response": "<think>t</think><answer>A</answer>", "ground_truth": "A",
...                 "problem_type": "multiple choice"}])
[{'overall': 1.5, 'format': 1.0, 'accuracy': 1.0, 'structure': 0.5, 'unscored': 0.0}]
>>> compute_score({"response": "<think>t</think><answer>A</answer>", "ground_truth": "A"},
...               default_task="multiple choice")["overall"]
1.5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from unireward.api import score_batch
from unireward.integrations._common import (
    UNSCORED_STATUSES,
    check_options,
    polar_client,
    report_unscored,
)

__all__ = ["KEYS", "compute_score", "main"]

#: The keys of every score dict, in order.
KEYS = ("overall", "format", "accuracy", "structure", "unscored")


def compute_score(
    reward_inputs: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    format_weight: float = 0.1,
    *,
    task_key: str = "problem_type",
    data_type_key: str = "data_type",
    default_task: str | None = None,
    reward_model_url: str | None = None,
    reward_model_backend: str = "vllm",
    reward_model_fallback: str | None = "rouge",
    **options: Any,
) -> list[dict[str, float]] | dict[str, float]:
    """Score EasyR1 reward inputs (a list for ``batch``, one dict for ``sequential``).

    Args:
        reward_inputs: ``RewardInput`` dicts: ``response``, ``ground_truth`` and the task
            under ``task_key`` (else ``task``, else ``default_task``); optionally the data
            type, ``problem_id`` and the prompt (``problem``).
        format_weight: ``w`` in ``overall = (1 - w) * accuracy + w * format + structure``.
        task_key / data_type_key: the input keys holding the task and the data type.
        default_task: the task of inputs that carry none (upstream EasyR1 passes none).
        reward_model_url: a POLAR server for open-ended answers (the whole batch is sent
            at once and normalised per ``problem_id``).
        reward_model_backend: as for :class:`~unireward.remote.PolarClient`.
        reward_model_fallback: ``"rouge"`` (default: a failing reward model gives the ROUGE
            score with status ``fallback``, logged) or ``None`` (it raises).
        **options: further scoring options (``profile``, ``math_timeout``, ...).

    Raises:
        ConfigurationError: a bad option (an unknown name, a bad profile), before scoring.
    """
    check_options({"format_weight": format_weight, **options})
    single = isinstance(reward_inputs, Mapping)
    inputs = [reward_inputs] if isinstance(reward_inputs, Mapping) else list(reward_inputs)
    records = []
    for x in inputs:
        task = x.get(task_key) or x.get("task") or default_task
        records.append({
            "completion": x.get("response"),
            "ground_truth": x.get("ground_truth"),
            "task": None if task is None else str(task),
            "data_type": x.get(data_type_key),
            "problem_id": x.get("problem_id"),
            "prompt": x.get("problem") or x.get("problem_reserved_text") or x.get("prompt") or "",
        })
    rm = polar_client(reward_model_url, reward_model_backend) if reward_model_url else None
    results = score_batch(records, errors="record", reward_model=rm,
                          reward_model_fallback=reward_model_fallback,
                          format_weight=format_weight, **options)
    report_unscored("easyr1", results)
    out = [{"overall": float(r.total), "format": float(r.format), "accuracy": float(r.accuracy),
            "structure": float(r.structure),
            "unscored": 1.0 if r.status.value in UNSCORED_STATUSES else 0.0} for r in results]
    return out[0] if single else out


#: EasyR1's default function name (``reward_function=PATH`` without ``:NAME``).
main = compute_score
