"""verl: a ``compute_score`` entry, a batch variant, and the ``ema_grpo`` advantage estimator.

Needs ``unireward[verl]``.

Scores: name :func:`compute_score` (per-sample managers) or :func:`compute_score_batch`
(the ``batch`` manager) in verl's config::

    reward.custom_reward_function.path=pkg://unireward.integrations.verl
    reward.custom_reward_function.name=compute_score
    +reward.custom_reward_function.reward_kwargs.profile=onethinker

Both are plain functions (verl checks ``inspect.iscoroutinefunction`` and wraps them with
the ``reward_kwargs``), the module has absolute imports only (a file path works too), the
reward loop's ``reward_router_address`` / ``reward_model_tokenizer`` are used for open-ended
answers, other unknown keywords are ignored with a one-time warning, and a sample that
cannot be scored gets a recorded ``status`` and ``reason`` instead of an exception.

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

import functools
import inspect
import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from unireward.advantage import EMARewardNormalizer
from unireward.api import score_batch
from unireward.errors import ConfigurationError, missing_extra
from unireward.integrations._common import (
    check_options,
    polar_client,
    report_unscored,
    warn_ignored_keywords,
)
from unireward.tasks.base import ScoreOptions

try:
    import torch
    import verl  # noqa: F401
except ImportError as exc:  # pragma: no cover
    raise missing_extra("verl", "verl") from exc

__all__ = [
    "ESTIMATOR_NAME",
    "RESULT_KEYS",
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
        raise ConfigurationError(
            f"configure() needs an EMARewardNormalizer, got {type(tracker).__name__}"
        )
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


def label_uids(
    uids: Iterable[Any], tasks: Iterable[Any], data_types: Iterable[Any] | None = None
) -> None:
    """Remember each group's task (and data type) by its ``uid``, for the estimator."""
    uids, tasks = list(uids), list(tasks)
    dts = list(data_types) if data_types is not None else [None] * len(uids)
    if not len(uids) == len(tasks) == len(dts):
        raise ConfigurationError(
            f"got {len(uids)} uids, {len(tasks)} tasks and {len(dts)} data types"
        )
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


_SCORING_OPTIONS = frozenset(ScoreOptions.__dataclass_fields__)
_PROMPT_KEYS = ("problem_reserved_text", "problem", "question", "prompt")
#: The keys of every dict :func:`compute_score` returns (verl logs all but ``score``).
RESULT_KEYS = ("score", "accuracy", "format", "structure", "status", "reason")


def _split_options(kwargs: dict[str, Any], where: str) -> dict[str, Any]:
    """The scoring options among ``kwargs``; other keywords are ignored with a one-time warning."""
    unknown = set(kwargs) - _SCORING_OPTIONS
    if unknown:
        warn_ignored_keywords(where, unknown)
    return {k: v for k, v in kwargs.items() if k in _SCORING_OPTIONS}  # score_batch checks them


def _is_task(name: Any) -> bool:
    """True when ``name`` (a ``data_source``) names a registered task."""
    from unireward.errors import UnknownTaskError
    from unireward.registry import get_scorer

    if not isinstance(name, str) or not name:
        return False
    try:
        get_scorer(name)
    except UnknownTaskError:
        return False
    return True


def _score_samples(
    data_sources: Sequence[Any],
    solution_strs: Sequence[Any],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None],
    *,
    where: str,
    task_key: str,
    data_type_key: str,
    default_task: str | None,
    reward_model_url: str | None,
    reward_router_address: str | None,
    reward_model_tokenizer: Any,
    reward_model_backend: str,
    reward_model_name: str | None,
    reward_model_fallback: str | None,
    normalize_by_problem_id: bool,
    options: dict[str, Any],
) -> list[dict[str, Any]]:
    records = []
    for src, sol, gt, info in zip(
        data_sources, solution_strs, ground_truths, extra_infos, strict=True
    ):
        info = info if isinstance(info, Mapping) else {}
        task = info.get(task_key) or default_task or (src if _is_task(src) else None)
        prompt = next((str(info[k]) for k in _PROMPT_KEYS if info.get(k)), "")
        pid = info.get("problem_id")
        records.append(
            {
                "completion": sol,
                "ground_truth": gt,
                "task": None if task is None else str(task),
                "data_type": info.get(data_type_key),
                "prompt": prompt,
                "problem_id": None if pid is None else str(pid),
            }
        )
    url = reward_model_url or reward_router_address
    rm = None
    if url:
        rm = polar_client(
            url, reward_model_backend, reward_model_tokenizer, model=reward_model_name
        )
    results = score_batch(
        records,
        errors="record",
        reward_model=rm,
        reward_model_fallback=reward_model_fallback,
        normalize_by_problem_id=normalize_by_problem_id,
        **options,
    )
    report_unscored(where, results)
    return [{"score": float(r.total), "accuracy": float(r.accuracy), "format": float(r.format),
             "structure": float(r.structure), "status": r.status.value, "reason": r.reason or ""}
            for r in results]


def compute_score(
    data_source: Any = None,
    solution_str: Any = None,
    ground_truth: Any = None,
    extra_info: Mapping[str, Any] | None = None,
    *,
    reward_router_address: str | None = None,
    reward_model_tokenizer: Any = None,
    task_key: str = "problem_type",
    data_type_key: str = "data_type",
    default_task: str | None = None,
    reward_model_url: str | None = None,
    reward_model_backend: str = "vllm",
    reward_model_name: str | None = None,
    reward_model_fallback: str | None = "rouge",
    **kwargs: Any,
) -> dict[str, Any]:
    """verl's reward function: one sample in, a dict with ``score`` and what verl logs.

    Name it in verl's config: ``reward.custom_reward_function.name=compute_score``, with the
    ``path`` the module docstring gives; the function's ``reward_kwargs`` become keywords.

    The task is ``extra_info[task_key]``, else ``default_task``, else ``data_source`` when it
    names a task (otherwise the sample is recorded as missing its task); the data type
    ``extra_info[data_type_key]``; the prompt (for a reward model)
    ``extra_info["problem_reserved_text"]`` / ``["problem"]`` / ``["question"]`` / ``["prompt"]``.

    A sample that cannot be scored (no task, an unknown task, an unusable ground truth) does
    not raise: it gets the recorded fallback reward with its ``status`` and ``reason``, and a
    warning is logged. Every result has the keys :data:`RESULT_KEYS`.

    Args:
        reward_router_address: verl's reward-model router (``host:port``), passed with
            ``reward_model_tokenizer`` by the reward-loop managers when a reward model is on:
            open-ended answers are then scored by POLAR there, truncated in its tokens.
        task_key / data_type_key: the ``extra_info`` keys of the task and the data type.
        default_task: the task of samples whose ``extra_info`` names none.
        reward_model_url: a POLAR server to use instead of verl's router.
        reward_model_backend: ``"vllm"`` / ``"lmdeploy"`` (``POST /pooling``) or
            ``"sglang"`` (``POST /classify``); ``reward_model_name``: the served model name.
        reward_model_fallback: ``"rouge"`` (default: a failing reward model gives the ROUGE
            score with status ``fallback``) or ``None`` (it raises).
        **kwargs: scoring options (``profile``, ``format_weight``, ``math_timeout``: a bad
            one raises ConfigurationError); any other keyword is ignored with a warning, once.

    >>> compute_score("onethinker", "<think>t</think><answer>B</answer>", "B",
    ...               {"problem_type": "multiple choice"})["score"]
    1.5
    >>> r = compute_score("onethinker", "<answer>B</answer>", "B", {})
    >>> r["score"], r["status"]
    (0.0, 'error')
    """
    options = _split_options(kwargs, "unireward.integrations.verl.compute_score")
    return _score_samples(
        [data_source], [solution_str], [ground_truth], [extra_info], where="verl compute_score",
        task_key=task_key, data_type_key=data_type_key, default_task=default_task,
        reward_model_url=reward_model_url, reward_router_address=reward_router_address,
        reward_model_tokenizer=reward_model_tokenizer, reward_model_backend=reward_model_backend,
        reward_model_name=reward_model_name, reward_model_fallback=reward_model_fallback,
        normalize_by_problem_id=False, options=options)[0]


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[Any],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    reward_router_address: str | None = None,
    reward_model_tokenizer: Any = None,
    task_key: str = "problem_type",
    data_type_key: str = "data_type",
    default_task: str | None = None,
    reward_model_url: str | None = None,
    reward_model_backend: str = "vllm",
    reward_model_name: str | None = None,
    reward_model_fallback: str | None = "rouge",
    normalize_by_problem_id: bool = True,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """The batch variant, for verl's ``batch`` reward manager (``.name=compute_score_batch``):
    one dict per sample, as :func:`compute_score` gives; reward-model scores are normalised
    per ``extra_info["problem_id"]`` (``normalize_by_problem_id=False``: clipped)."""
    options = _split_options(kwargs, "unireward.integrations.verl.compute_score_batch")
    n = len(solution_strs)
    infos = list(extra_infos) if extra_infos is not None else [None] * n
    return _score_samples(
        list(data_sources), list(solution_strs), list(ground_truths), infos,
        where="verl compute_score_batch",
        task_key=task_key, data_type_key=data_type_key, default_task=default_task,
        reward_model_url=reward_model_url, reward_router_address=reward_router_address,
        reward_model_tokenizer=reward_model_tokenizer, reward_model_backend=reward_model_backend,
        reward_model_name=reward_model_name, reward_model_fallback=reward_model_fallback,
        normalize_by_problem_id=normalize_by_problem_id, options=options)


def make_compute_score(**kwargs: Any) -> functools.partial[dict[str, Any]]:
    """:func:`compute_score` with fixed keywords, checked now (a bad option raises here);
    the result pickles (a ``functools.partial`` of a module-level function)."""
    check_options({k: v for k, v in kwargs.items() if k in _SCORING_OPTIONS})
    unknown = set(kwargs) - _SCORING_OPTIONS - set(inspect.signature(compute_score).parameters)
    if unknown:
        raise ConfigurationError(f"make_compute_score: unknown keyword(s) {sorted(unknown)}")
    return functools.partial(compute_score, **kwargs)


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
    from unireward.advantage import torch as adv_torch

    if index is None:
        raise ConfigurationError("ema_grpo needs the group index (uid)")
    tasks = kwargs.get("task_labels") or getattr(_LABELS, "tasks", None)
    dtypes = kwargs.get("data_types") or getattr(_LABELS, "data_types", None)
    if tasks is None:
        by_uid = _labels_from_uids(list(index))
        if by_uid is None:
            raise ConfigurationError(
                "ema_grpo needs the batch's task labels: use "
                "unireward.integrations.verl.compute_advantage or label_uids()"
            )
        tasks, dtypes = by_uid
    scores = token_level_rewards.sum(dim=-1)
    adv = adv_torch.ema_grpo(
        scores.float(), list(index), list(tasks), data_types=dtypes, normalizer=_NORMALIZER
    )
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


def compute_advantage(
    data: Any,
    *args: Any,
    task_key: str = "problem_type",
    data_type_key: str = "data_type",
    **kwargs: Any,
) -> Any:
    """``verl.trainer.ppo.ray_trainer.compute_advantage`` with the task labels handed over."""
    from verl.trainer.ppo import ray_trainer

    _LABELS.tasks = _labels(data.non_tensor_batch, task_key)
    _LABELS.data_types = _labels(data.non_tensor_batch, data_type_key)
    try:
        return (
            _ORIGINAL(data, *args, **kwargs)
            if _ORIGINAL is not None
            else ray_trainer.compute_advantage(data, *args, **kwargs)
        )
    finally:
        _LABELS.tasks = _LABELS.data_types = None


try:  # keep verl's function even after a user patches ray_trainer.compute_advantage
    from verl.trainer.ppo.ray_trainer import compute_advantage as _ORIGINAL
except ImportError:  # pragma: no cover
    _ORIGINAL = None
