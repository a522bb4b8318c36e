"""Field presets: where a dump keeps the completion, the ground truth, the task and the rest.

A :class:`FieldMap` maps each unireward field to candidate columns, tried in order (the
first one present and not null wins); a dotted column reaches into nested objects
(``reward_model.ground_truth``). It turns an input row into a scoring record and leaves
the row itself untouched.

>>> fm = FieldMap.from_preset("verl")
>>> rec, err = fm.record({"output": "<answer>B</answer>", "gts": "B",
...                       "extra_info": {"problem_type": "multiple choice"}})
>>> rec["completion"], rec["ground_truth"], rec["task"], err
('<answer>B</answer>', 'B', 'multiple choice', None)
>>> fm.record({"output": "x"})[1]
'no ground_truth (looked for: ground_truth, reward_model.ground_truth, gts, solution, answer)'
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..api import FIELD_ALIASES
from ..errors import ConfigurationError

__all__ = ["FIELDS", "PRESETS", "FieldMap", "chat_text", "get_path"]

#: The fields a scoring record has; the first three are required.
FIELDS: tuple[str, ...] = (
    "completion",
    "ground_truth",
    "task",
    "data_type",
    "problem_id",
    "prompt",
)
_REQUIRED = FIELDS[:3]

#: Presets: unireward field -> candidate columns (first present wins).
PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    # unireward's own names and the aliases the API accepts
    "auto": {name: FIELD_ALIASES[name] for name in FIELDS},
    # OneThinker / EasyR1 style records
    "onethinker": {
        "completion": ("completion", "response", "output"),
        "ground_truth": ("solution", "answer", "ground_truth"),
        "task": ("problem_type", "task"),
        "data_type": ("data_type",),
        "problem_id": ("problem_id",),
        "prompt": ("problem_reserved_text", "problem", "prompt"),
    },
    "easyr1": {
        "completion": ("response", "completion", "output"),
        "ground_truth": ("answer", "ground_truth", "solution"),
        "task": ("problem_type", "task"),
        "data_type": ("data_type",),
        "problem_id": ("problem_id", "uid"),
        "prompt": ("problem", "prompt", "problem_reserved_text"),
    },
    # verl: reward-function arguments (data_source, solution_str, ground_truth, extra_info),
    # dataset rows (reward_model.ground_truth, extra_info.*) and the trainer's rollout dumps
    # (trainer.rollout_data_dir: input, output, gts, score, step + reward extra infos)
    "verl": {
        "completion": ("solution_str", "response", "output", "completion"),
        "ground_truth": ("ground_truth", "reward_model.ground_truth", "gts", "solution", "answer"),
        "task": ("extra_info.problem_type", "problem_type", "task", "data_source"),
        "data_type": ("extra_info.data_type", "data_type"),
        "problem_id": ("extra_info.problem_id", "problem_id", "uid", "extra_info.index"),
        "prompt": ("input", "prompt", "extra_info.question"),
    },
    # TRL datasets: prompt / completion columns (either may be chat messages)
    "trl": {
        "completion": ("completion", "completions"),
        "ground_truth": ("solution", "ground_truth", "answer"),
        "task": ("problem_type", "task"),
        "data_type": ("data_type",),
        "problem_id": ("problem_id",),
        "prompt": ("prompt",),
    },
}


def get_path(row: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path, or None. A column whose own name has dots wins.

    >>> get_path({"reward_model": {"ground_truth": "4"}}, "reward_model.ground_truth")
    '4'
    >>> get_path({"a.b": 1}, "a.b"), get_path({"a": 3}, "a.b")
    (1, None)
    """
    if dotted in row:
        return row[dotted]
    cur: Any = row
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal parts: [{"type": "text", "text": ...}, ...]
        texts = [p.get("text") for p in content if isinstance(p, Mapping)]
        return "".join(t for t in texts if isinstance(t, str))
    return None


def chat_text(value: Any, role: str) -> Any:
    """The text of a chat-message list for one role (joined), else the value unchanged.

    With no message of that role, the last message's text is used.

    >>> chat_text([{"role": "assistant", "content": "<answer>B</answer>"}], "assistant")
    '<answer>B</answer>'
    >>> chat_text([{"role": "system", "content": "s"}, {"role": "user", "content": "q?"}], "user")
    'q?'
    >>> chat_text("plain", "assistant")
    'plain'
    """
    if not (isinstance(value, list) and value and all(isinstance(m, Mapping) for m in value)):
        return value
    if not all("content" in m for m in value):
        return value
    picked = [m for m in value if m.get("role") == role] or [value[-1]]
    texts = [_content_text(m.get("content")) for m in picked]
    if any(t is None for t in texts):
        return value
    return "".join(t for t in texts if t is not None)


@dataclass(frozen=True)
class FieldMap:
    """Where each scoring field is read from (picklable: it travels to worker processes).

    Args:
        columns: field -> candidate columns, tried in order.
        default_task: the task for rows that name none (e.g. verl dumps of a single task).
    """

    columns: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(PRESETS["auto"]))
    default_task: str | None = None

    @classmethod
    def from_preset(cls, preset: str = "auto", overrides: Sequence[str] = (),
                    default_task: str | None = None) -> FieldMap:
        """A preset with ``NAME=COLUMN`` overrides (a COLUMN may list fallbacks: ``a,b.c``).

        >>> FieldMap.from_preset("trl", ["ground_truth=meta.gt"]).columns["ground_truth"]
        ('meta.gt',)
        >>> FieldMap.from_preset("trl", ["truth=x"])  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        unireward.errors.ConfigurationError: --field: unknown field 'truth'; fields:
        completion, ground_truth, task, data_type, problem_id, prompt
        """
        if preset not in PRESETS:
            raise ConfigurationError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
        columns = dict(PRESETS[preset])
        for item in overrides:
            name, sep, column = item.partition("=")
            name, column = name.strip(), column.strip()
            if not sep or not name or not column:
                raise ConfigurationError(f"--field expects NAME=COLUMN, got {item!r}")
            if name not in FIELDS:
                raise ConfigurationError(
                    f"--field: unknown field {name!r}; fields: {', '.join(FIELDS)}"
                )
            columns[name] = tuple(c.strip() for c in column.split(",") if c.strip())
        return cls(columns, default_task)

    def lookup(self, row: Mapping[str, Any], name: str) -> Any:
        """The first non-null candidate column's value for field ``name``, or None."""
        for column in self.columns.get(name, ()):
            value = get_path(row, column)
            if value is not None:
                return value
        return None

    def record(self, row: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        """``(record, None)``, or ``(partial record, why it cannot be scored)``."""
        rec: dict[str, Any] = {}
        for name in FIELDS:
            value = self.lookup(row, name)
            if value is not None:
                rec[name] = value
        if "task" not in rec and self.default_task is not None:
            rec["task"] = self.default_task
        if "completion" in rec:
            rec["completion"] = chat_text(rec["completion"], "assistant")
        if "prompt" in rec:
            prompt = chat_text(rec["prompt"], "user")
            if isinstance(prompt, str):
                rec["prompt"] = prompt
            else:
                del rec["prompt"]
        for name in _REQUIRED:
            if name not in rec:
                return (
                    rec,
                    f"no {name} (looked for: {', '.join(self.columns.get(name, ())) or 'nothing'})",
                )
        return rec, None

    def task_label(self, row: Mapping[str, Any], *, canonical: bool = False) -> str:
        """The task a row counts under in summaries: its name as written (unprintable
        characters escaped, cut at 1,000 characters), ``(no task)`` when it names none,
        ``(task not a string)``. With ``canonical``, a registered task counts under its
        canonical name (``Multiple_Choice`` -> ``multiple choice``), as ``score`` and
        ``validate`` summarise.

        >>> fm = FieldMap()
        >>> fm.task_label({"task": "Multiple_Choice"}), fm.task_label({"task": ["x"]})
        ('Multiple_Choice', '(task not a string)')
        >>> fm.task_label({"task": "Multiple_Choice"}, canonical=True)
        'multiple choice'
        """
        task = self.lookup(row, "task")
        if task is None:
            task = self.default_task
        if task is None:
            return "(no task)"
        if not isinstance(task, str):
            return "(task not a string)"
        return task_label(task, canonical)


@functools.lru_cache(maxsize=4096)
def task_label(name: str, canonical: bool = False) -> str:
    """A task name as summaries show it (see :meth:`FieldMap.task_label`)."""
    from ..errors import UnknownTaskError
    from ..registry import get_scorer
    from ._io import printable

    if canonical:
        try:
            return get_scorer(name).name
        except UnknownTaskError:
            pass
    return printable(name, 1000)
