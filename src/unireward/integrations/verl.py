"""verl: a ``compute_score`` entry, a batch variant, and the ``ema_grpo`` advantage estimator.

Needs ``unireward[verl]``.

Scores: point verl's custom reward function at ``unireward.integrations.verl:compute_score``
(the task and data type are read from ``extra_info``; keys configurable through
:func:`make_compute_score`).

Advantages: verl's estimators receive rewards, the response mask and the group index only,
never the task labels. Call :func:`register` once (it registers ``ema_grpo`` with
``register_adv_est``), then compute advantages with :func:`compute_advantage`, a drop-in
for ``verl.trainer.ppo.ray_trainer.compute_advantage`` that hands the estimator the task
labels of the batch (``non_tensor_batch["problem_type"]`` / ``["data_type"]``, or the same
keys inside ``non_tensor_batch["extra_info"]``). In a ray trainer, patch its module-level
name once at start-up::

    import verl.trainer.ppo.ray_trainer as rt
    from unireward.integrations import verl as uv
    uv.register()
    rt.compute_advantage = uv.compute_advantage      # and set algorithm.adv_estimator=ema_grpo
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ..advantage import EMARewardNormalizer
from ..api import score, score_batch
from ..errors import ConfigurationError, missing_extra

try:
    import torch
    import verl  # noqa: F401
except ImportError as exc:  # pragma: no cover
    raise missing_extra("verl", "verl") from exc

__all__ = [
    "ESTIMATOR_NAME",
    "compute_advantage",
    "compute_score",
    "compute_score_batch",
    "ema_grpo_estimator",
    "make_compute_score",
    "normalizer",
    "register",
]

ESTIMATOR_NAME = "ema_grpo"
_LABELS = threading.local()
_NORMALIZER = EMARewardNormalizer()


def normalizer() -> EMARewardNormalizer:
    """The tracker used by the registered estimator (save its ``state_dict`` with checkpoints)."""
    return _NORMALIZER


def _result_dict(r: Any) -> dict[str, Any]:
    return {"score": r.total, "accuracy": r.accuracy, "format": r.format, "structure": r.structure,
            "status": r.status.value}


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict[str, Any] | None = None,
    *,
    task_key: str = "problem_type",
    data_type_key: str = "data_type",
    default_task: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """verl's reward entry: a dict with ``score`` and the components (logged by verl).

    The task is ``extra_info[task_key]`` (else ``default_task``, else ``data_source``).
    """
    info = extra_info or {}
    task = info.get(task_key) or default_task or data_source
    if not task:
        raise ConfigurationError(f"no task: set extra_info[{task_key!r}] or default_task")
    return _result_dict(score(solution_str, ground_truth, str(task), data_type=info.get(data_type_key), **options))


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[dict[str, Any] | None] | None = None,
    *,
    task_key: str = "problem_type",
    data_type_key: str = "data_type",
    **options: Any,
) -> list[dict[str, Any]]:
    """Batch variant (verl's batch reward manager): one dict per sample; a sample that
    cannot be scored gets ``score`` 0 and ``status`` ``"error"``."""
    infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    records = []
    for src, sol, gt, info in zip(data_sources, solution_strs, ground_truths, infos, strict=True):
        info = info or {}
        records.append({"completion": sol, "ground_truth": gt, "task": info.get(task_key) or src,
                        "data_type": info.get(data_type_key), "problem_id": info.get("problem_id")})
    return [_result_dict(r) for r in score_batch(records, errors="record", **options)]


class make_compute_score:  # noqa: N801 - used like a function factory, but picklable
    """A picklable ``compute_score`` with fixed keys / options."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.__name__ = "unireward_compute_score"

    def __call__(self, data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None) -> dict[str, Any]:
        return compute_score(data_source, solution_str, ground_truth, extra_info, **self.kwargs)


def ema_grpo_estimator(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: Any = None,
    config: Any = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The registered estimator: EMA-GRPO per task, broadcast over the response tokens.

    Task labels come from ``kwargs["task_labels"]`` or from :func:`compute_advantage`.
    """
    from ..advantage import torch as adv_torch

    tasks = kwargs.get("task_labels") or getattr(_LABELS, "tasks", None)
    dtypes = kwargs.get("data_types") or getattr(_LABELS, "data_types", None)
    if tasks is None:
        raise ConfigurationError(
            "ema_grpo needs the batch's task labels: use unireward.integrations.verl.compute_advantage"
        )
    if index is None:
        raise ConfigurationError("ema_grpo needs the group index (uid)")
    scores = token_level_rewards.sum(dim=-1)
    adv = adv_torch.ema_grpo(scores.float(), list(index), list(tasks), data_types=dtypes, normalizer=_NORMALIZER)
    adv = adv.unsqueeze(-1) * response_mask
    return adv, adv


def register(name: str = ESTIMATOR_NAME) -> None:
    """Register the estimator with verl (idempotent)."""
    from verl.trainer.ppo import core_algos

    try:
        if core_algos.get_adv_estimator_fn(name) is ema_grpo_estimator:
            return
    except (ValueError, KeyError, NotImplementedError):
        pass
    core_algos.register_adv_est(name)(ema_grpo_estimator)


def _labels(non_tensor: dict[str, Any], key: str) -> list[Any] | None:
    if key in non_tensor:
        return list(non_tensor[key])
    infos = non_tensor.get("extra_info")
    if infos is not None:
        return [(i or {}).get(key) for i in infos]
    return None


def compute_advantage(data: Any, *args: Any, task_key: str = "problem_type", data_type_key: str = "data_type", **kwargs: Any) -> Any:
    """``verl.trainer.ppo.ray_trainer.compute_advantage`` with the task labels handed over."""
    from verl.trainer.ppo import ray_trainer

    _LABELS.tasks = _labels(data.non_tensor_batch, task_key)
    _LABELS.data_types = _labels(data.non_tensor_batch, data_type_key)
    try:
        return _ORIGINAL(data, *args, **kwargs) if _ORIGINAL is not None else ray_trainer.compute_advantage(data, *args, **kwargs)
    finally:
        _LABELS.tasks = _LABELS.data_types = None


try:  # keep verl's function even after a user patches ray_trainer.compute_advantage
    from verl.trainer.ppo.ray_trainer import compute_advantage as _ORIGINAL
except ImportError:  # pragma: no cover
    _ORIGINAL = None
