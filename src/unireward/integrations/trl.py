"""TRL: a ``GRPOTrainer`` that uses EMA-GRPO advantages with task labels from the batch.

Needs ``unireward[trl]``. Use it like ``GRPOTrainer``::

    from unireward.integrations.rewards import UniRewardFunction
    from unireward.integrations.trl import EMAGRPOTrainer

    trainer = EMAGRPOTrainer(model=..., reward_funcs=[UniRewardFunction()], args=GRPOConfig(...),
                             train_dataset=dataset)   # rows carry problem_type / data_type

The trainer recomputes the advantages from the gathered rewards (all processes compute the
same numbers, so the tracker stays identical on every rank without ``sync``), stores the
tracker in every checkpoint (``unireward_ema.json``) and restores it on resume. Evaluation
batches use the tracker without advancing it. Each training step logs every task's EMA std
(metrics ``unireward/ema_std/<task>``).

The reward callables (:class:`UniRewardFunction`, :class:`AsyncUniRewardFunction`) live in
:mod:`unireward.integrations.rewards`, which needs no extra; they are re-exported here.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from unireward.advantage import EMARewardNormalizer
from unireward.advantage import torch as adv_torch
from unireward.errors import ConfigurationError, missing_extra
from unireward.integrations.rewards import AsyncUniRewardFunction, UniRewardFunction

try:
    import torch
    from trl import GRPOTrainer
except ImportError as exc:  # pragma: no cover
    raise missing_extra("trl", "trl") from exc

__all__ = ["STATE_FILE", "AsyncUniRewardFunction", "EMAGRPOTrainer", "UniRewardFunction"]

STATE_FILE = "unireward_ema.json"


class EMAGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` with EMA-GRPO advantages (see the module docs).

    Args:
        normalizer: the tracker (default: the spec's constants).
        task_column / data_type_column: the dataset columns holding the task labels.
        *args, **kwargs: as for ``GRPOTrainer``.
    """

    def __init__(
        self,
        *args: Any,
        normalizer: EMARewardNormalizer | None = None,
        task_column: str = "problem_type",
        data_type_column: str = "data_type",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.ema_normalizer = normalizer if normalizer is not None else EMARewardNormalizer()
        self.task_column = task_column
        self.data_type_column = data_type_column
        self.last_rewards: torch.Tensor | None = None
        self.last_advantages: torch.Tensor | None = None

    def _calculate_rewards(
        self, inputs: Any, prompts: Any, completions: Any, completion_ids_list: Any
    ) -> Any:
        rewards_per_func = super()._calculate_rewards(
            inputs, prompts, completions, completion_ids_list
        )
        self._ema_rewards_per_func = rewards_per_func
        return rewards_per_func

    def _generate_and_score_completions(self, inputs: Any) -> dict[str, Any]:
        from accelerate.utils import gather_object

        out = super()._generate_and_score_completions(inputs)
        per_func = self._ema_rewards_per_func  # gathered over processes
        weights = self.reward_weights.to(per_func.device).unsqueeze(0)
        rewards = (per_func * weights).nansum(dim=1)
        rewards[torch.isnan(per_func).all(dim=1)] = float("nan")
        if any(self.task_column not in x for x in inputs):
            raise ConfigurationError(
                "EMAGRPOTrainer reads each row's task from the dataset column "
                f"{self.task_column!r}, which is missing: add it or pass task_column="
            )
        tasks = gather_object([str(x[self.task_column]) for x in inputs])
        dtypes = gather_object([x.get(self.data_type_column) for x in inputs])
        mode = "train" if getattr(self.model, "training", True) else "eval"
        g: int = (self.num_generations if mode == "train" else self.num_generations_eval) or 1
        groups = [i // g for i in range(len(tasks))]  # TRL's sampler keeps each group contiguous
        # evaluation must not move the training statistics: use a copy of the tracker
        norm = self.ema_normalizer if mode == "train" else copy.deepcopy(self.ema_normalizer)
        adv = adv_torch.ema_grpo(rewards.float(), groups, tasks, data_types=dtypes, normalizer=norm)
        metrics = getattr(self, "_metrics", None)  # TRL's per-mode metric lists, logged each step
        if mode == "train" and isinstance(metrics, dict) and mode in metrics:
            for key in sorted(norm.tasks):
                metrics[mode][f"unireward/ema_std/{key}"].append(norm.std(key))
        n_local = len(inputs)
        start = self.accelerator.process_index * n_local
        local = adv[start : start + n_local].to(out["advantages"].device, out["advantages"].dtype)
        out["advantages"] = local
        self.last_rewards, self.last_advantages = rewards.detach().cpu(), adv.detach().cpu()
        return out

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = os.path.join(
                self._get_output_dir(trial=trial), f"checkpoint-{self.state.global_step}"
            )
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, STATE_FILE), "w", encoding="utf-8") as fh:
                json.dump(self.ema_normalizer.state_dict(), fh)

    def _load_optimizer_and_scheduler(self, checkpoint: Any) -> None:
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is not None:
            path = os.path.join(checkpoint, STATE_FILE)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as fh:
                    self.ema_normalizer.load_state_dict(json.load(fh))
