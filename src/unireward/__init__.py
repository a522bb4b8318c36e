"""unireward: rewards for reinforcement learning of multimodal reasoning models.

>>> import unireward
>>> unireward.score("<think>2+2</think><answer>4</answer>", "4", "numerical").total
1.5
"""

from __future__ import annotations

from ._version import __version__
from .api import ascore_batch, score, score_batch
from .errors import (
    ConfigurationError,
    GroundTruthError,
    InputError,
    MissingExtraError,
    RemoteRewardError,
    ScoringDeadlineError,
    UniRewardError,
    UnknownTaskError,
)
from .registry import get_scorer, register_task, registered_tasks, unregister_task
from .result import RewardResult, Status, TaskOutcome
from .tasks.base import ItemScorer, ScoreOptions, TaskScorer

__all__ = [
    "ConfigurationError",
    "GroundTruthError",
    "InputError",
    "ItemScorer",
    "MissingExtraError",
    "RemoteRewardError",
    "RewardResult",
    "ScoreOptions",
    "ScoringDeadlineError",
    "Status",
    "TaskOutcome",
    "TaskScorer",
    "UniRewardError",
    "UnknownTaskError",
    "__version__",
    "ascore_batch",
    "get_scorer",
    "register_task",
    "registered_tasks",
    "score",
    "score_batch",
    "unregister_task",
]
