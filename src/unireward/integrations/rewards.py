"""Reward callables with TRL's signature ``fn(prompts=, completions=, **columns)``.

They pickle into worker processes and return ``list[float | None]`` (``None``: the row
could not be scored, e.g. no task or an unusable ground truth; TRL leaves it out; under
TRL before 0.22 such a row gets its recorded fallback reward instead, see ``unscored``).

>>> fn = UniRewardFunction()
>>> fn(prompts=["q"], completions=["<think>t</think><answer>B</answer>"],
...    solution=["B"], problem_type=["multiple choice"])
[1.5]
>>> import pickle; pickle.loads(pickle.dumps(fn)).__name__
'unireward_total'

Ready-made instances, loadable by import path (``trl grpo --reward_funcs
unireward.integrations.rewards.unireward_accuracy``): :data:`unireward_total`,
:data:`unireward_accuracy`, :data:`unireward_format`.

:class:`AsyncUniRewardFunction` is the async twin. It is a ``functools.partial`` of a
coroutine function, so ``inspect.iscoroutinefunction`` (how TRL 0.27-1.4 recognise async
reward functions) is True for it, as is TRL's later ``is_async_callable``.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from unireward.cli._presets import chat_text
from unireward.errors import ConfigurationError
from unireward.integrations._common import (
    UNSCORED_STATUSES,
    check_options,
    polar_client,
    probe_reward_model,
    report_unscored,
)

__all__ = [
    "ASYNC_MIN_TRL",
    "NONE_MIN_TRL",
    "AsyncUniRewardFunction",
    "UniRewardFunction",
    "completion_text",
    "unireward_accuracy",
    "unireward_format",
    "unireward_total",
]

_COMPONENTS = ("total", "accuracy", "format", "structure")
#: Keywords TRL passes that are not dataset columns.
_TRAINER_KEYWORDS = ("trainer_state", "completion_ids", "log_extra", "log_metric", "environments")
#: The first TRL release that awaits async reward functions.
ASYNC_MIN_TRL = (0, 27)
#: The first TRL release that survives a row for which every reward function gave ``None``.
NONE_MIN_TRL = (0, 22)


def completion_text(completion: Any) -> Any:
    """The text of a plain (``str``) or conversational completion.

    A conversational completion (a list of ``{"role", "content"}`` messages, as TRL hands
    over for chat datasets) gives its assistant messages' texts joined (content parts
    included), as the CLI reads chat columns. Anything else is returned unchanged (and
    recorded as an input error when scored).

    >>> answer = {"type": "text", "text": "<answer>42</answer>"}
    >>> completion_text([{"role": "assistant", "content": "<think>t</think>"},
    ...                  {"role": "tool", "content": "42"},
    ...                  {"role": "assistant", "content": [answer]}])
    '<think>t</think><answer>42</answer>'
    """
    if isinstance(completion, str):
        return completion
    return chat_text(completion, "assistant")


def _prompt_text(prompt: Any) -> str:
    """The question of a plain or conversational prompt (its user messages), for a reward model."""
    text = prompt if isinstance(prompt, str) else chat_text(prompt, "user")
    return text if isinstance(text, str) else ""


def _column(
    kwargs: dict[str, Any], names: Sequence[str], n: int, what: str, required: bool
) -> list[Any]:
    for name in names:
        if name in kwargs and kwargs[name] is not None:
            values = kwargs[name]
            if not isinstance(values, (list, tuple)):
                values = [values] * n
            if len(values) != n:
                raise ConfigurationError(
                    f"column {name!r} has {len(values)} values for {n} completions"
                )
            return list(values)
    if required:
        raise ConfigurationError(f"no {what} column: pass one of {list(names)} as a dataset column")
    return [None] * n


class UniRewardFunction:
    """A reward function for TRL's ``GRPOTrainer`` built on :func:`unireward.score_batch`.

    Args:
        component: ``"total"`` (default), ``"accuracy"``, ``"format"`` or ``"structure"``.
        task_column / ground_truth_column / data_type_column / problem_id_column: dataset
            column names (tried first; OneThinker's and common names are the fallbacks).
        task: a fixed task for every row, when the dataset has no task column.
        unscored: what an unscorable row gives: ``"none"`` (``None``, which TRL leaves out)
            or ``"fallback"`` (the recorded fallback reward, e.g. 0). Default: ``"none"``,
            but ``"fallback"`` under TRL before 0.22, which fails the whole step when every
            reward function returns ``None`` for a row. Either way the row is counted and
            logged with its reason.
        log_details: report statuses and reasons (completions table columns
            ``unireward_status`` / ``unireward_reason``), status counts and per-task reward
            means (metrics ``unireward/status/<status>``, ``unireward/reward/<task>``)
            through TRL's ``log_extra`` / ``log_metric`` (TRL 1.0 and later). Default: for
            ``component="total"`` only, so that several functions do not log twice.
        reward_model_url / reward_model_backend / reward_model_fallback: a POLAR server for
            open-ended answers (the client is made once per process, so the function pickles).
            The server is asked for one score at construction.
        **options: scoring options (``profile``, ``format_weight``, ``math_timeout``).

    Raises:
        ConfigurationError: a bad component or option, or a reward model that cannot be
            reached (at construction).
    """

    def __init__(
        self,
        component: str = "total",
        *,
        task_column: str = "problem_type",
        ground_truth_column: str = "solution",
        data_type_column: str = "data_type",
        problem_id_column: str = "problem_id",
        task: str | None = None,
        log_details: bool | None = None,
        unscored: str | None = None,
        reward_model_url: str | None = None,
        reward_model_backend: str = "vllm",
        reward_model_fallback: str | None = None,
        **options: Any,
    ) -> None:
        if component not in _COMPONENTS:
            raise ConfigurationError(f"component must be one of {_COMPONENTS}, got {component!r}")
        check_options(options)
        if reward_model_fallback not in (None, "rouge"):
            raise ConfigurationError(
                f"reward_model_fallback must be None or 'rouge', got {reward_model_fallback!r}"
            )
        self.component = component
        self.task_columns = (task_column, "task", "problem_type")
        self.ground_truth_columns = (ground_truth_column, "ground_truth", "answer", "solution")
        self.data_type_column = data_type_column
        self.problem_id_column = problem_id_column
        self.task = task
        self.log_details = component == "total" if log_details is None else bool(log_details)
        if unscored is None:
            found = _trl_version()
            unscored = "fallback" if found is not None and found < NONE_MIN_TRL else "none"
        if unscored not in ("none", "fallback"):
            raise ConfigurationError(f"unscored must be 'none' or 'fallback', got {unscored!r}")
        self.unscored = unscored
        self.reward_model_url = reward_model_url
        self.reward_model_backend = reward_model_backend
        self.reward_model_fallback = reward_model_fallback
        self.options = options
        self.__name__ = f"unireward_{component}"
        if reward_model_url:  # fail at start-up, not in the first training step
            probe_reward_model(polar_client(reward_model_url, reward_model_backend))

    def _records(
        self, prompts: Any, completions: Sequence[Any], kwargs: dict[str, Any]
    ) -> list[dict[str, Any]]:
        n = len(completions)
        tasks = (
            [self.task] * n if self.task else _column(kwargs, self.task_columns, n, "task", True)
        )
        gts = _column(kwargs, self.ground_truth_columns, n, "ground truth", True)
        dts = _column(kwargs, (self.data_type_column,), n, "data type", False)
        pids = _column(kwargs, (self.problem_id_column,), n, "problem id", False)
        # only a reward model reads the question
        questions = (
            [""] * n
            if prompts is None or not self.reward_model_url
            else [_prompt_text(p) for p in prompts]
        )
        if len(questions) != n:
            raise ConfigurationError(f"got {len(questions)} prompts for {n} completions")
        return [
            {"completion": completion_text(c), "ground_truth": g, "task": t, "data_type": d,
             "problem_id": None if p is None else str(p), "prompt": q}
            for c, g, t, d, p, q in zip(completions, gts, tasks, dts, pids, questions, strict=True)
        ]

    def __call__(
        self, *args: Any, prompts: Any = None, completions: Any = None, **kwargs: Any
    ) -> list[float | None]:
        if args:
            raise ConfigurationError(
                f"{self.__name__} takes keyword arguments only, as TRL calls it: "
                "fn(prompts=..., completions=..., <dataset columns>=...); "
                f"got {len(args)} positional"
            )
        if completions is None:
            raise ConfigurationError(f"{self.__name__} was called without completions=")
        from unireward.api import score_batch

        hooks = {k: kwargs.pop(k, None) for k in _TRAINER_KEYWORDS}
        records = self._records(prompts, completions, kwargs)
        rm = (
            polar_client(self.reward_model_url, self.reward_model_backend)
            if self.reward_model_url
            else None
        )
        results = score_batch(records, errors="record", reward_model=rm,
                              reward_model_fallback=self.reward_model_fallback, **self.options)
        report_unscored(self.__name__, results)
        if self.log_details:
            self._log(results, hooks["log_extra"], hooks["log_metric"])
        return [
            None
            if self.unscored == "none"
            and r.status.value == "error"  # a bad truth: the reference value
            else float(r.total if self.component == "total" else getattr(r, self.component))
            for r in results
        ]

    @staticmethod
    def _log(results: Sequence[Any], log_extra: Callable[..., Any] | None,
             log_metric: Callable[..., Any] | None) -> None:
        if log_extra is not None:
            log_extra("unireward_status", [r.status.value for r in results])
            log_extra("unireward_reason", [r.reason or "" for r in results])
        if log_metric is not None:
            for status, count in sorted(Counter(r.status.value for r in results).items()):
                log_metric(f"unireward/status/{status}", float(count))
            by_task: dict[str, list[float]] = defaultdict(list)
            for r in results:
                if r.task and r.status.value not in UNSCORED_STATUSES:
                    by_task[r.task].append(r.total)
            for task, totals in sorted(by_task.items()):
                log_metric(f"unireward/reward/{task}", sum(totals) / len(totals))

    def __repr__(self) -> str:
        return f"UniRewardFunction({self.component!r}, task={self.task!r})"


def _trl_version() -> tuple[int, ...] | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = version("trl")
    except PackageNotFoundError:
        return None
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


async def _score_async(
    scorer: UniRewardFunction, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[float | None]:
    if args:
        scorer(*args)  # raises the positional-call error
    return await asyncio.to_thread(functools.partial(scorer, **kwargs))


# One coroutine function per component: TRL 1.x names a partial's metrics after the function.
async def unireward_async_total(
    scorer: UniRewardFunction, *args: Any, **kwargs: Any
) -> list[float | None]:
    """The coroutine behind ``AsyncUniRewardFunction("total")``."""
    return await _score_async(scorer, args, kwargs)


async def unireward_async_accuracy(
    scorer: UniRewardFunction, *args: Any, **kwargs: Any
) -> list[float | None]:
    """The coroutine behind ``AsyncUniRewardFunction("accuracy")``."""
    return await _score_async(scorer, args, kwargs)


async def unireward_async_format(
    scorer: UniRewardFunction, *args: Any, **kwargs: Any
) -> list[float | None]:
    """The coroutine behind ``AsyncUniRewardFunction("format")``."""
    return await _score_async(scorer, args, kwargs)


async def unireward_async_structure(
    scorer: UniRewardFunction, *args: Any, **kwargs: Any
) -> list[float | None]:
    """The coroutine behind ``AsyncUniRewardFunction("structure")``."""
    return await _score_async(scorer, args, kwargs)


_ASYNC = {"total": unireward_async_total, "accuracy": unireward_async_accuracy,
          "format": unireward_async_format, "structure": unireward_async_structure}


def _rebuild_async(scorer: UniRewardFunction) -> AsyncUniRewardFunction:
    self = functools.partial.__new__(AsyncUniRewardFunction, _ASYNC[scorer.component], scorer)
    self.__name__ = f"unireward_async_{scorer.component}"
    return self


class AsyncUniRewardFunction(functools.partial):  # type: ignore[type-arg]
    """The async twin of :class:`UniRewardFunction` (same arguments): TRL awaits async
    reward functions concurrently; scoring runs in a worker thread.

    It is a ``functools.partial`` of a coroutine function, so TRL recognises it both by
    ``inspect.iscoroutinefunction`` (TRL 0.27 to 1.4) and by ``is_async_callable`` (later).

    Raises:
        ConfigurationError: a bad option, or an installed TRL older than 0.27 (it calls
            every reward function synchronously).

    >>> import asyncio, inspect
    >>> fn = AsyncUniRewardFunction()
    >>> inspect.iscoroutinefunction(fn), fn.__name__
    (True, 'unireward_async_total')
    >>> asyncio.run(fn(completions=["<think>t</think><answer>C</answer>"], solution=["C"],
    ...                problem_type=["multiple choice"]))
    [1.5]
    """

    __name__: str  # set per instance (TRL names the function's metrics after it)

    def __new__(cls, component: str = "total", **kwargs: Any) -> AsyncUniRewardFunction:
        found = _trl_version()
        if found is not None and found < ASYNC_MIN_TRL:
            raise ConfigurationError(
                f"TRL {'.'.join(map(str, found))} calls reward functions synchronously (async "
                f"reward functions need TRL >= {'.'.join(map(str, ASYNC_MIN_TRL))}): "
                "use UniRewardFunction"
            )
        return _rebuild_async(UniRewardFunction(component, **kwargs))

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # construction happens in __new__
        pass

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_async, (self.args[0],))

    @property
    def scorer(self) -> UniRewardFunction:
        """The synchronous function doing the work."""
        return self.args[0]  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"AsyncUniRewardFunction({self.scorer.component!r}, task={self.scorer.task!r})"


#: ``overall`` (OneThinker's reward) with the default options, for every row's own task.
unireward_total = UniRewardFunction("total")
#: The accuracy component alone (log it beside the total, with weight 0).
unireward_accuracy = UniRewardFunction("accuracy")
#: The format component alone.
unireward_format = UniRewardFunction("format")
