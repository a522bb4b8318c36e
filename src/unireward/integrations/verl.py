"""verl: a ``compute_score`` entry, a batch variant, and the ``ema_grpo`` advantage estimator.

Needs ``unireward[verl]``.

Scores: point verl's custom reward function at ``unireward.integrations.verl:compute_score``
(the task and data type are read from ``extra_info``; keys configurable through
:func:`make_compute_score`).

Advantages: verl's estimators receive rewards, the response mask and the group index
(``uid``) only, never the task labels. Call :func:`register` once (it registers
``ema_grpo`` with ``register_adv_est``), then hand the labels over in one of two ways:

1. :func:`compute_advantage`, a drop-in for ``verl.trainer.ppo.ray_trainer.compute_advantage``
   that reads them from the batch (``non_tensor_batch["problem_type"]`` / ``["data_type"]``,
   or the same keys inside ``non_tensor_batch["extra_info"]``). In the ``RayPPOTrainer``,
   patch its module-level name once at start-up::

       import verl.trainer.ppo.ray_trainer as rt
       from unireward.integrations import verl as uv
       uv.register()
       rt.compute_advantage = uv.compute_advantage    # and algorithm.adv_estimator=ema_grpo

2. :func:`label_uids`: record ``uid -> (task, data type)`` when the batch is built (the
   estimator receives the uids, so it looks the labels up and forgets them). This needs no
   patch of ``compute_advantage`` and suits trainers whose advantage step only sees a
   few fields.

The tracker is :func:`normalizer` (replace it with :func:`configure`); keep it with the
checkpoints through :func:`save_normalizer` / :func:`load_normalizer`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
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
    "configure",
    "ema_grpo_estimator",
    "label_uids",
    "load_normalizer",
    "make_compute_score",
    "normalizer",
    "register",
    "save_normalizer",
]

ESTIMATOR_NAME = "ema_grpo"
STATE_FILE = "unireward_ema.json"
_LABELS = threading.local()
_NORMALIZER = EMARewardNormalizer()
_UID_LABELS: dict[str, tuple[str, Any]] = {}
_UID_LOCK = threading.Lock()


def normalizer() -> EMARewardNormalizer:
    """The tracker used by the registered estimator."""
    return _NORMALIZER


def configure(tracker: EMARewardNormalizer) -> None:
    """Use ``tracker`` (other constants, ``bias_correction``...) in the registered estimator."""
    global _NORMALIZER
    if not isinstance(tracker, EMARewardNormalizer):
        raise ConfigurationError(f"configure() needs an EMARewardNormalizer, got {type(tracker).__name__}")
    _NORMALIZER = tracker


def save_normalizer(folder: str) -> str:
    """Write the tracker's state to ``folder/unireward_ema.json`` (e.g. a ``global_step_N``
    checkpoint folder); returns the path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, STATE_FILE)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(_NORMALIZER.state_dict(), fh)
    return path


def load_normalizer(folder: str) -> bool:
    """Restore the tracker from ``folder/unireward_ema.json``; False when there is none."""
    path = os.path.join(folder, STATE_FILE)
    if not os.path.isfile(path):
        return False
    with open(path, encoding="utf-8") as fh:
        _NORMALIZER.load_state_dict(json.load(fh))
    return True


def label_uids(uids: Iterable[Any], tasks: Iterable[Any], data_types: Iterable[Any] | None = None) -> None:
    """Remember each group's task (and data type) by its ``uid``, for the estimator."""
    uids, tasks = list(uids), list(tasks)
    dts = list(data_types) if data_types is not None else [None] * len(uids)
    if not len(uids) == len(tasks) == len(dts):
        raise ConfigurationError(f"got {len(uids)} uids, {len(tasks)} tasks and {len(dts)} data types")
    with _UID_LOCK:
        for u, t, d in zip(uids, tasks, dts, strict=True):
            _UID_LABELS[str(u)] = (str(t), d)


def _labels_from_uids(index: Sequence[Any]) -> tuple[list[str], list[Any]] | None:
    with _UID_LOCK:
        found = [_UID_LABELS.get(str(u)) for u in index]
        if not found or any(f is None for f in found):
            return None
        for u in set(map(str, index)):
            _UID_LABELS.pop(u, None)
    return [f[0] for f in found], [f[1] for f in found]  # type: ignore[index]


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

    Task labels come from ``kwargs["task_labels"]``, from :func:`compute_advantage`, or
    from :func:`label_uids`, in that order.
    """
    from ..advantage import torch as adv_torch

    if index is None:
        raise ConfigurationError("ema_grpo needs the group index (uid)")
    tasks = kwargs.get("task_labels") or getattr(_LABELS, "tasks", None)
    dtypes = kwargs.get("data_types") or getattr(_LABELS, "data_types", None)
    if tasks is None:
        by_uid = _labels_from_uids(list(index))
        if by_uid is None:
            raise ConfigurationError(
                "ema_grpo needs the batch's task labels: use unireward.integrations.verl.compute_advantage "
                "or label_uids()")
        tasks, dtypes = by_uid
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
