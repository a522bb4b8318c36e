"""Task name -> scorer. Built-in scorers register themselves; users add their own.

Task names are matched case-insensitively, with surrounding whitespace ignored and ``_``
treated like a space (so ``"spatial_grounding"`` finds ``"spatial grounding"``).
"""

from __future__ import annotations

import threading
from typing import TypeVar

from .errors import ConfigurationError, UnknownTaskError
from .tasks.base import TaskScorer

__all__ = ["canonical_task", "get_scorer", "register_task", "registered_tasks", "unregister_task"]

_REGISTRY: dict[str, TaskScorer] = {}
_LOCK = threading.Lock()


def canonical_task(name: str) -> str:
    """The lookup key of a task name.

    >>> canonical_task("  Spatial_Grounding ")
    'spatial grounding'
    """
    if not isinstance(name, str):
        raise ConfigurationError(f"task name must be a string, got {type(name).__name__}")
    return " ".join(name.replace("_", " ").split()).lower()


_S = TypeVar("_S", bound="TaskScorer | type[TaskScorer]")


def register_task(scorer: _S, *, overwrite: bool = False) -> _S:
    """Register a scorer under its :attr:`~TaskScorer.name` and aliases.

    ``scorer`` is a :class:`TaskScorer` instance, or a subclass that takes no arguments
    (one instance is registered), so that it can decorate the class::

        @register_task
        class MyScorer(TaskScorer):
            name = "my task"
            ...

    Everything the library asks about a task is read from the scorer (its answer model,
    EMA key, property-test spec, report family, reward-model use), so a registered task
    has the powers of a built-in one. Raises :class:`~unireward.errors.ConfigurationError`
    when a name is taken, unless ``overwrite=True``. Returns its argument unchanged.
    """
    if isinstance(scorer, type) and issubclass(scorer, TaskScorer):
        _register(scorer(), overwrite)
        return scorer
    if not isinstance(scorer, TaskScorer):
        raise ConfigurationError(
            f"register_task expects a TaskScorer instance or subclass, got {type(scorer).__name__}"
        )
    _register(scorer, overwrite)
    return scorer


def _register(scorer: TaskScorer, overwrite: bool) -> None:
    if not scorer.name:
        raise ConfigurationError(f"{type(scorer).__name__} has no task name")
    keys = [canonical_task(n) for n in (scorer.name, *scorer.aliases)]
    _ensure_builtins()
    with _LOCK:
        if not overwrite:
            taken = [k for k in keys if k in _REGISTRY and _REGISTRY[k] is not scorer]
            if taken:
                raise ConfigurationError(
                    f"task name(s) {taken} already registered; pass overwrite=True to replace"
                )
        for k in keys:
            _REGISTRY[k] = scorer


def unregister_task(name: str) -> None:
    """Remove a task name (and every alias of its scorer)."""
    key = canonical_task(name)
    with _LOCK:
        scorer = _REGISTRY.get(key)
        if scorer is None:
            raise UnknownTaskError(f"no scorer registered for task {name!r}")
        for k in [k for k, v in _REGISTRY.items() if v is scorer]:
            del _REGISTRY[k]


def get_scorer(name: str) -> TaskScorer:
    """The scorer for a task name; :class:`~unireward.errors.UnknownTaskError` if none."""
    _ensure_builtins()
    scorer = _REGISTRY.get(canonical_task(name))
    if scorer is None:
        known = ", ".join(sorted({s.name for s in _REGISTRY.values()}))
        raise UnknownTaskError(
            f"no scorer registered for task {name!r} (known: {known}); "
            "register one with unireward.register_task"
        )
    return scorer


def registered_tasks() -> list[str]:
    """The canonical names of all registered tasks, sorted."""
    _ensure_builtins()
    return sorted({s.name for s in _REGISTRY.values()})


_BUILTINS_LOADED = False


def _ensure_builtins() -> None:
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    from .tasks import builtin_scorers

    with _LOCK:
        if _BUILTINS_LOADED:
            return
        for cls in builtin_scorers():
            scorer = cls()
            for key in (scorer.name, *scorer.aliases):
                _REGISTRY.setdefault(canonical_task(key), scorer)  # user registrations win
        _BUILTINS_LOADED = True
