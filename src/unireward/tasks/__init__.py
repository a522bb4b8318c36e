"""Built-in task scorers, one module per task family.

Each module lists its scorer classes in ``SCORERS``; the registry registers one instance of
each the first time a task is looked up (see :mod:`unireward.registry`).
"""

from __future__ import annotations

import importlib

from .base import ScoreOptions, TaskScorer

__all__ = ["BUILTIN_MODULES", "ScoreOptions", "TaskScorer", "builtin_scorers"]

BUILTIN_MODULES = (
    "choice",
    "numeric",
    "math",
    "text",
    "grounding",
    "tracking",
    "segmentation",
)


def builtin_scorers() -> list[type[TaskScorer]]:
    """The built-in scorer classes of every task family present in this build."""
    classes: list[type[TaskScorer]] = []
    for mod_name in BUILTIN_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{mod_name}")
        except ModuleNotFoundError as exc:  # a family not present in this build
            if exc.name != f"{__name__}.{mod_name}":
                raise
            continue
        classes.extend(getattr(module, "SCORERS", ()))
    return classes
