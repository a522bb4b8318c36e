"""Trainer integrations. Each module needs its extra:

- :mod:`unireward.integrations.rewards`: TRL-style reward callables (no extra needed);
- :mod:`unireward.integrations.trl`: ``EMAGRPOTrainer`` (``unireward[trl]``);
- :mod:`unireward.integrations.verl`: ``compute_score`` and the ``ema_grpo`` estimator
  (``unireward[verl]``);
- :mod:`unireward.integrations.easyr1`: a batch reward function for EasyR1.
"""
