"""Advantage estimators for GRPO-style training: GRPO, Dr. GRPO and EMA-GRPO.

Each is a pure function over flat arrays ``(rewards, group_ids, task_keys)``; the numpy
versions live here, the torch twins (same numbers, tensors stay on their device) in
:mod:`unireward.advantage.torch` (needs the ``torch`` extra).

>>> import numpy as np
>>> from unireward.advantage import EMARewardNormalizer, ema_grpo, grpo
>>> r = [1.5, 0.6, 1.5, 0.6]
>>> [round(float(a), 4) for a in grpo(r, ["a"] * 4)]
[0.866, -0.866, 0.866, -0.866]
>>> norm = EMARewardNormalizer()
>>> [round(float(a), 4) for a in ema_grpo(r, ["a"] * 4, ["multiple choice"] * 4, normalizer=norm)]
[1.0, -1.0, 1.0, -1.0]
"""

from __future__ import annotations

from ._core import (
    EMARewardNormalizer,
    TaskMoments,
    dr_grpo,
    ema_grpo,
    grpo,
    task_keys,
)

__all__ = ["EMARewardNormalizer", "TaskMoments", "dr_grpo", "ema_grpo", "grpo", "task_keys"]
