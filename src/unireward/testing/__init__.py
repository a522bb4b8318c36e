"""Property-testing toolkit for reward functions.

- :mod:`unireward.testing.strategies`: hypothesis strategies for answers, damaged
  completions and adversarial text;
- :func:`check_reward`: a reusable invariant suite with a readable report;
- a pytest fixture ``reward_checker`` (registered automatically when unireward is installed).

Needs ``hypothesis`` (``pip install 'unireward[testing]'``); imported lazily.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CheckReport", "InvariantResult", "check_reward"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import checks

        return getattr(checks, name)
    raise AttributeError(name)
