"""Trainer integrations (see docs/integrations.md). Nothing here is imported by ``unireward``.

- :mod:`unireward.integrations.rewards`: TRL-style reward callables (no extra needed);
- :mod:`unireward.integrations.trl`: ``EMAGRPOTrainer`` (``unireward[trl]``);
- :mod:`unireward.integrations.verl`: ``compute_score``, a batch variant and the
  ``ema_grpo`` estimator with its task-label carriers (``unireward[verl]``);
- :mod:`unireward.integrations.easyr1`: a batch reward function for EasyR1 (no extra needed).
"""
