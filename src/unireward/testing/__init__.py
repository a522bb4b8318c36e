"""Property-testing toolkit for reward functions.

- :func:`check_reward`: the invariant suite (:data:`~unireward.testing.invariants.INVARIANTS`)
  run against any reward function, with a readable :class:`CheckReport`;
- :mod:`unireward.testing.strategies`: hypothesis strategies for answers, damaged
  completions, degenerate geometry, non-ASCII and adversarial text;
- a pytest fixture ``reward_checker`` (registered automatically when unireward is installed).

Needs ``hypothesis`` (``pip install 'unireward[testing]'``); imported lazily.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CheckReport", "InvariantResult", "TaskSpec", "Violation", "check_reward"]

_HOMES = {
    "CheckReport": "report",
    "InvariantResult": "report",
    "TaskSpec": "_tasks",
    "Violation": "report",
    "check_reward": "checks",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        from importlib import import_module

        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(name)
