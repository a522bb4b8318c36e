"""Reward-model clients: POLAR scores for open-ended answers, over HTTP.

The public surface:

* :class:`PolarClient` / :class:`AsyncPolarClient`: talk to a POLAR model served by vLLM,
  LMDeploy (``POST /pooling``) or SGLang (``POST /classify``), in batches, with retries.
* :class:`PolarEncoder`, :func:`polar_template`: the pair encoding and its truncation.
* :func:`scores_to_accuracies`, :func:`normalize_by_group`, :func:`clip_unit`: raw scores to
  accuracies in [0, 1] (pure numpy).
* :func:`reward_model_accuracies` / :func:`areward_model_accuracies`: all of the above for a
  batch of samples, with the ROUGE fallback.

Errors are those of :mod:`unireward.errors` (``RemoteRewardError`` and its subclasses).
"""

from ._base import ClientStats, RequestInfo
from ._client import AsyncPolarClient, BatchResult, PolarClient
from ._config import BACKENDS, Backend, ClientConfig, PolarConfig
from ._encoding import END_TOKEN, REWARD_TOKEN, PolarEncoder, polar_template
from ._normalize import clip_unit, normalize_by_group, scores_to_accuracies
from ._scoring import areward_model_accuracies, reward_model_accuracies

__all__ = [
    "BACKENDS",
    "END_TOKEN",
    "REWARD_TOKEN",
    "AsyncPolarClient",
    "Backend",
    "BatchResult",
    "ClientConfig",
    "ClientStats",
    "PolarClient",
    "PolarConfig",
    "PolarEncoder",
    "RequestInfo",
    "areward_model_accuracies",
    "clip_unit",
    "normalize_by_group",
    "polar_template",
    "reward_model_accuracies",
    "scores_to_accuracies",
]
