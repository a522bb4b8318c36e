"""Built-in task scorers, one module per task family.

A task is one scorer class: its names, answer schema, ground-truth preparation, scoring,
EMA key rule, property-test spec, report family and whether a reward model scores it are
all attributes or methods of the class (see :class:`~unireward.tasks.base.TaskScorer`).
Each public module of this package lists its scorer classes in ``SCORERS``; the modules
are discovered (a new module is a new task family, nothing else to edit) and the registry
registers one instance of each class the first time a task is looked up (see
:mod:`unireward.registry`). Modules whose name starts with ``_`` are shared helpers.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import ScoreOptions, TaskScorer

__all__ = ["BUILTIN_MODULES", "ScoreOptions", "TaskScorer", "builtin_modules", "builtin_scorers"]


def builtin_modules() -> tuple[str, ...]:
    """The task modules of this package (every public module but :mod:`.base`), sorted."""
    return tuple(
        sorted(
            m.name
            for m in pkgutil.iter_modules(__path__)
            if not m.name.startswith("_") and m.name != "base" and not m.ispkg
        )
    )


#: The task modules found in this build (discovered, see :func:`builtin_modules`).
BUILTIN_MODULES = builtin_modules()


def builtin_scorers() -> list[type[TaskScorer]]:
    """The built-in scorer classes of every task family present in this build."""
    classes: list[type[TaskScorer]] = []
    for mod_name in BUILTIN_MODULES:
        module = importlib.import_module(f"{__name__}.{mod_name}")
        classes.extend(getattr(module, "SCORERS", ()))
    return classes
