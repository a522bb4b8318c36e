"""Trainer integrations (see docs/integrations.md). Nothing here is imported by ``unireward``.

- :mod:`unireward.integrations.rewards`: TRL-style reward callables (no extra needed);
- :mod:`unireward.integrations.trl`: ``EMAGRPOTrainer`` (``unireward[trl]``);
- :mod:`unireward.integrations.verl`: ``compute_score``, a batch variant and the
  ``ema_grpo`` estimator with its task-label carriers (``unireward[verl]``);
- :mod:`unireward.integrations.easyr1`: a reward function for EasyR1 (no extra needed).

``verl`` and ``easyr1`` are loaded by file path by their trainers, so they (and
``_common``, which they share) use absolute imports only.
"""
