"""Reward callables with TRL's signature ``fn(prompts, completions, **columns)``.

They are small module-level classes with a stable ``__name__``, so they pickle into worker
processes; they return ``list[float | None]`` (``None``: the row could not be scored).

>>> fn = UniRewardFunction()
>>> fn(prompts=["q"], completions=["<think>t</think><answer>B</answer>"],
...    solution=["B"], problem_type=["multiple choice"])
[1.5]
>>> import pickle; pickle.loads(pickle.dumps(fn)).__name__
'unireward_total'

Ready-made instances, loadable by import path (``trl grpo --reward_funcs
unireward.integrations.rewards.unireward_accuracy``): :data:`unireward_total`,
:data:`unireward_accuracy`, :data:`unireward_format`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigurationError

__all__ = [
    "AsyncUniRewardFunction",
    "UniRewardFunction",
    "completion_text",
    "unireward_accuracy",
    "unireward_format",
    "unireward_total",
]

_COMPONENTS = ("total", "accuracy", "format", "structure")


def completion_text(completion: Any) -> str:
    """The text of a plain (``str``) or conversational (``[{"role", "content"}]``) completion."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[0], dict):
        content = completion[0].get("content", "")
        if isinstance(content, list):  # multimodal content parts
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return str(content)
    return str(completion)


def _column(kwargs: dict[str, Any], names: Sequence[str], n: int, what: str, required: bool) -> list[Any]:
    for name in names:
        if name in kwargs and kwargs[name] is not None:
            values = kwargs[name]
            if not isinstance(values, (list, tuple)):
                values = [values] * n
            if len(values) != n:
                raise ConfigurationError(f"column {name!r} has {len(values)} values for {n} completions")
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
        **options: scoring options (``profile``, ``format_weight``, ``math_timeout``).
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
        **options: Any,
    ) -> None:
        if component not in _COMPONENTS:
            raise ConfigurationError(f"component must be one of {_COMPONENTS}, got {component!r}")
        from ..tasks.base import ScoreOptions

        ScoreOptions(**options)  # fail early on bad options
        self.component = component
        self.task_columns = (task_column, "task", "problem_type")
        self.ground_truth_columns = (ground_truth_column, "ground_truth", "answer", "solution")
        self.data_type_column = data_type_column
        self.problem_id_column = problem_id_column
        self.task = task
        self.options = options
        self.__name__ = f"unireward_{component}"

    def _records(self, completions: Sequence[Any], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        n = len(completions)
        tasks = [self.task] * n if self.task else _column(kwargs, self.task_columns, n, "task", True)
        gts = _column(kwargs, self.ground_truth_columns, n, "ground truth", True)
        dts = _column(kwargs, (self.data_type_column,), n, "data type", False)
        pids = _column(kwargs, (self.problem_id_column,), n, "problem id", False)
        return [
            {"completion": completion_text(c), "ground_truth": g, "task": t, "data_type": d, "problem_id": p}
            for c, g, t, d, p in zip(completions, gts, tasks, dts, pids, strict=True)
        ]

    def _values(self, results: Sequence[Any]) -> list[float | None]:
        out: list[float | None] = []
        for r in results:
            if r.status.value == "error":
                out.append(None)
            else:
                out.append(float(r.total if self.component == "total" else getattr(r, self.component)))
        return out

    def __call__(self, prompts: Any = None, completions: Any = None, **kwargs: Any) -> list[float | None]:
        from ..api import score_batch

        if completions is None:
            raise ConfigurationError("reward function called without completions")
        records = self._records(completions, kwargs)
        return self._values(score_batch(records, errors="record", **self.options))

    def __repr__(self) -> str:
        return f"UniRewardFunction({self.component!r}, task={self.task!r})"


class AsyncUniRewardFunction(UniRewardFunction):
    """The async twin (TRL awaits async reward functions concurrently); with
    ``reward_model_url`` set, open-ended answers are scored by a POLAR server.

    The client is created lazily inside each process, so the function still pickles.
    """

    def __init__(
        self,
        component: str = "total",
        *,
        reward_model_url: str | None = None,
        reward_model_backend: str = "vllm",
        reward_model_fallback: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(component, **kwargs)
        self.reward_model_url = reward_model_url
        self.reward_model_backend = reward_model_backend
        self.reward_model_fallback = reward_model_fallback
        self.__name__ = f"unireward_async_{component}"
        self._client: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"] = None
        return state

    def _sync_call(self, records: list[dict[str, Any]]) -> list[float | None]:
        from ..api import score_batch

        rm = None
        if self.reward_model_url:
            if self._client is None:
                from ..remote import PolarClient

                self._client = PolarClient(base_url=self.reward_model_url, backend=self.reward_model_backend)  # type: ignore[arg-type]
            rm = self._client
        results = score_batch(records, errors="record", reward_model=rm,
                              reward_model_fallback=self.reward_model_fallback, **self.options)
        return self._values(results)

    async def __call__(self, prompts: Any = None, completions: Any = None, **kwargs: Any) -> list[float | None]:  # type: ignore[override]
        if completions is None:
            raise ConfigurationError("reward function called without completions")
        records = self._records(completions, kwargs)
        if prompts is not None:
            for rec, p in zip(records, prompts, strict=False):
                rec["prompt"] = completion_text(p) if not isinstance(p, str) else p
        return await asyncio.to_thread(self._sync_call, records)


#: ``overall`` (OneThinker's reward) with the default options, for every row's own task.
unireward_total = UniRewardFunction("total")
#: The accuracy component alone (log it beside the total, with weight 0).
unireward_accuracy = UniRewardFunction("accuracy")
#: The format component alone.
unireward_format = UniRewardFunction("format")
