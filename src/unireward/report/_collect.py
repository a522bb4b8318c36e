"""One streaming pass over a scored dump: everything the report shows, in bounded memory.

Memory holds per-task counters and histograms, per (task, step) sums, a handful of
examples, the benchmark buffers (a few thousand numbers) and the rows of ONE training step
(for the prompt-group statistics and the advantage replay). Nothing grows with the number
of rows, except the per-step series, which grow with the number of steps.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..advantage import EMARewardNormalizer, ema_grpo, grpo, task_keys
from ._benchmarks import BenchmarkSet, family_of

__all__ = [
    "LENGTH_BINS", "REWARD_BINS", "ReportData", "TaskStats", "build_report", "length_bin",
]

log = logging.getLogger("unireward.report")

REWARD_BINS = 16
REWARD_HI = 1.6  # rewards are binned over [0, 1.6): 16 bins of 0.1
LENGTH_BINS = 42  # half-octave bins: 0, then [2^((k-1)/2), 2^(k/2)) up to 2^20.5
MAX_TEXT = 2000
MAX_TRUTH = 1000
MAX_WRONG = 5  # kept: the page shows 3 that are neither the best nor the worst
MAX_FORMAT = 2
MAX_ERRORS = 10
TREND_BINS = 64  # without a step column: at most this many file-order bins
STEP_ROWS = 1024  # without a step column: rows of one replayed batch (cut at a group change)
MAX_STEP_ROWS = 65536  # a step longer than this is replayed in parts
STEP_COLUMNS = ("step", "global_step", "training_step")
TOKEN_COLUMNS = (
    "completion_tokens",
    "response_length",
    "completion_length",
    "num_tokens",
    "output_tokens",
)
_RAW_KEYS = frozenset({"_raw", "reward", "accuracy", "format", "structure", "status", "reason"})
PARSE_FAILURES = frozenset({"parse_error", "malformed_json", "schema_error"})
_COMPONENTS = ("reward", "accuracy", "format", "structure")


def length_bin(n: int) -> int:
    """The half-octave bin of a length: 0 for 0, then ``1 + floor(2 * log2(n))``.

    >>> [length_bin(n) for n in (0, 1, 2, 3, 4, 1000, 10**9)]
    [0, 1, 3, 4, 5, 20, 41]
    """
    if n <= 0:
        return 0
    return min(1 + int(2 * math.log2(n)), LENGTH_BINS - 1)


LIMIT = 1e9  # a reward column beyond this is not a reward: the row is skipped (sums stay finite)


def _number(value: Any) -> float | None:
    """A finite number of at most :data:`LIMIT` in magnitude, else None."""
    if type(value) is float:
        return value if -LIMIT <= value <= LIMIT else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
    try:
        v = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return v if -LIMIT <= v <= LIMIT else None


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f" [... {len(text) - limit:,} more characters]"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    import json

    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


class TaskStats:
    """Counters of one task (or of all tasks, merged)."""

    def __init__(self) -> None:
        self.n = 0
        self.sums = dict.fromkeys(
            ("reward", "reward2", "accuracy", "accuracy2", "format", "structure"), 0.0
        )
        self.format_fail = self.parse = self.fallback = 0
        self.status: Counter[str] = Counter()
        self.reward_hist = [0] * REWARD_BINS
        self.chars = [0] * LENGTH_BINS
        self.chars_sum = self.chars_max = 0
        self.tokens = [0] * LENGTH_BINS
        self.tokens_n = self.tokens_sum = 0

    def add(
        self,
        reward: float,
        acc: float,
        fmt: float,
        st: float,
        status: str,
        chars: int,
        tokens: int | None,
    ) -> None:
        self.n += 1
        s = self.sums
        s["reward"] += reward
        s["reward2"] += reward * reward
        s["accuracy"] += acc
        s["accuracy2"] += acc * acc
        s["format"] += fmt
        s["structure"] += st
        self.format_fail += fmt == 0.0
        self.parse += status in PARSE_FAILURES
        self.fallback += status == "fallback"
        self.status[status] += 1
        self.reward_hist[min(max(int(reward / REWARD_HI * REWARD_BINS), 0), REWARD_BINS - 1)] += 1
        self.chars[length_bin(chars)] += 1
        self.chars_sum += chars
        self.chars_max = max(self.chars_max, chars)
        if tokens is not None:
            self.tokens[length_bin(tokens)] += 1
            self.tokens_n += 1
            self.tokens_sum += tokens

    def merge(self, other: TaskStats) -> None:
        self.n += other.n
        for k, v in other.sums.items():
            self.sums[k] += v
        self.format_fail += other.format_fail
        self.parse += other.parse
        self.fallback += other.fallback
        self.status.update(other.status)
        for mine, theirs in (
            (self.reward_hist, other.reward_hist),
            (self.chars, other.chars),
            (self.tokens, other.tokens),
        ):
            for i, c in enumerate(theirs):
                mine[i] += c
        self.chars_sum += other.chars_sum
        self.chars_max = max(self.chars_max, other.chars_max)
        self.tokens_n += other.tokens_n
        self.tokens_sum += other.tokens_sum

    def to_json(self) -> dict[str, Any]:
        n, s = self.n, self.sums

        def std(a: str) -> float:
            m = s[a] / n
            return math.sqrt(max(s[a + "2"] / n - m * m, 0.0))

        return {
            "rows": n,
            "reward_mean": s["reward"] / n,
            "reward_std": std("reward"),
            "accuracy_mean": s["accuracy"] / n,
            "accuracy_std": std("accuracy"),
            "format_mean": s["format"] / n,
            "structure_mean": s["structure"] / n,
            "format_failures": self.format_fail,
            "format_failure_share": self.format_fail / n,
            "parse_failures": self.parse,
            "fallbacks": self.fallback,
            "statuses": dict(self.status.most_common()),
            "reward_histogram": list(self.reward_hist),
            "chars_histogram": list(self.chars),
            "chars_mean": self.chars_sum / n,
            "chars_max": self.chars_max,
            "tokens_histogram": list(self.tokens) if self.tokens_n else None,
            "tokens_mean": self.tokens_sum / self.tokens_n if self.tokens_n else None,
        }


class _GroupStats:
    def __init__(self) -> None:
        self.groups = self.singletons = self.zero_std = self.all_right = self.all_wrong = 0
        self.rows = 0
        self.abs_grpo = self.abs_ema = 0.0

    def merge(self, o: _GroupStats) -> None:
        for k in ("groups", "singletons", "zero_std", "all_right", "all_wrong", "rows",
                  "abs_grpo", "abs_ema"):
            setattr(self, k, getattr(self, k) + getattr(o, k))

    def to_json(self, grpo_total: float, ema_total: float) -> dict[str, Any]:
        g = self.groups
        return {
            "groups": g,
            "groups_of_one": self.singletons,
            "zero_std_groups": self.zero_std,
            "zero_std_share": self.zero_std / g if g else None,
            "all_right_groups": self.all_right,
            "all_right_share": self.all_right / g if g else None,
            "all_wrong_groups": self.all_wrong,
            "all_wrong_share": self.all_wrong / g if g else None,
            "mean_abs_advantage_grpo": self.abs_grpo / self.rows if self.rows else None,
            "mean_abs_advantage_ema_grpo": self.abs_ema / self.rows if self.rows else None,
            "advantage_share_grpo": self.abs_grpo / grpo_total if grpo_total else None,
            "advantage_share_ema_grpo": self.abs_ema / ema_total if ema_total else None,
        }


class ReportData:
    """What the report shows, gathered row by row (call :meth:`finish` after the last row).

    Args:
        fields: a :class:`unireward.cli._presets.FieldMap` (default: the ``auto`` preset).
    """

    def __init__(self, fields: Any = None) -> None:
        from ..cli._presets import FieldMap

        self.fields = fields if fields is not None else FieldMap()
        self.tasks: dict[str, TaskStats] = {}
        self.rows_read = 0
        self.skipped = 0
        self.skipped_examples: list[dict[str, Any]] = []
        self.errors = 0
        self.errors_by_task: Counter[str] = Counter()
        self.errors_by_reason: Counter[str] = Counter()
        self.error_examples: list[dict[str, Any]] = []
        self.examples: dict[str, dict[str, Any]] = {}
        self.bench = BenchmarkSet()
        self._family: dict[str, str | None] = {}
        # steps, trends and the group / advantage replay
        self.has_step: bool | None = None
        self.step_column: str | None = None
        self.token_column: str | None = None
        self.group_column_seen = False
        self._scored = 0
        self._last_step: float | None = None
        self._max_done: float | None = None  # the highest step replayed so far
        self._split = False  # the last replay was part of a long step (more of it follows)
        self.steps_out_of_order = 0
        self.steps_split = 0
        self.trend: dict[str, dict[float, list[float]]] = {}  # label -> x -> [n, reward, accuracy]
        self._bin_rows = 1
        self.normalizer = EMARewardNormalizer()
        self.ema_std: list[tuple[float, dict[str, float]]] = []
        self.groups: dict[str, _GroupStats] = {}
        # task, data_type, group, reward, acc
        self._buf: list[tuple[str, str | None, Any, float, float]] = []
        self._buf_x: float | None = None
        self._finished = False

    # -- rows ----------------------------------------------------------------------------

    def add(self, row: Mapping[str, Any]) -> None:
        """Fold one scored row in."""
        from ..cli._presets import chat_text

        self.rows_read += 1
        get = row.get
        nums = [_number(0.0 if (v := get(k)) is None else v) for k in _COMPONENTS]
        status = str(row.get("status") or "ok")
        raw = row.keys() <= _RAW_KEYS
        label = "(unreadable)" if raw else self.fields.task_label(row)
        completion = chat_text(self.fields.lookup(row, "completion"), "assistant")
        if isinstance(completion, str):
            text = completion
        else:
            text = _text(row.get("_raw") if raw else completion)
        if status in ("error", "ground_truth_error"):  # unscorable: counted apart from the tasks
            self._add_error(row, label, text)
            return
        if any(v is None for v in nums):
            self._add_skipped(row, label)
            return
        reward, acc, fmt, st = (float(v) for v in nums if v is not None)
        stats = self.tasks.get(label)
        if stats is None:
            stats = self.tasks[label] = TaskStats()
        stats.add(reward, acc, fmt, st, status, len(text), self._tokens(row))
        self._examples(label, row, text, reward, acc, fmt, st, status)
        family = self._family.get(label, "?")
        if family == "?":
            family = self._family[label] = family_of(label)
        if family is not None:
            self.bench.add(label, family, row, acc, completion,
                           self.fields.lookup(row, "ground_truth"),
                           self.fields.lookup(row, "data_type"))
        self._step_row(row, label, reward, acc)

    def _add_error(self, row: Mapping[str, Any], label: str, text: str) -> None:
        self.errors += 1
        self.errors_by_task[label] += 1
        reason = str(row.get("reason") or "(no reason given)")
        self.errors_by_reason[reason[:80]] += 1
        if len(self.error_examples) < MAX_ERRORS:
            truth = _text(self.fields.lookup(row, "ground_truth"))
            self.error_examples.append({"row": self.rows_read, "task": label, "reason": reason,
                                        "completion": _cut(text, MAX_TEXT),
                                        "truth": _cut(truth, MAX_TRUTH)})

    def _add_skipped(self, row: Mapping[str, Any], label: str) -> None:
        """A row whose reward or components are not numbers."""
        self.skipped += 1
        if len(self.skipped_examples) < MAX_ERRORS:
            values = {k: _text(row.get(k))[:40] for k in _COMPONENTS}
            self.skipped_examples.append({"row": self.rows_read, "task": label, "values": values})

    def _tokens(self, row: Mapping[str, Any]) -> int | None:
        """The row's completion length in tokens, from the first token column the dump has."""
        if self.token_column is None:
            self.token_column = next((c for c in TOKEN_COLUMNS if c in row), "")
        if not self.token_column:
            return None
        t = row.get(self.token_column)
        if (isinstance(t, (int, float)) and not isinstance(t, bool)
                and t == t and 0 <= t < 1e12):
            return int(t)
        return None

    def _examples(self, label: str, row: Mapping[str, Any], text: str, reward: float, acc: float,
                  fmt: float, st: float, status: str) -> None:
        ex = self.examples.get(label)
        if ex is None:
            ex = self.examples[label] = {
                "best": None,
                "worst": None,
                "wrong_formatted": [],
                "format_failures": [],
            }

        def make() -> dict[str, Any]:
            return {
                "row": self.rows_read,
                "step": self._last_step,
                "reward": reward,
                "accuracy": acc,
                "format": fmt,
                "structure": st,
                "status": status,
                "reason": str(row.get("reason") or ""),
                "completion": _cut(text, MAX_TEXT),
                "truth": _cut(_text(self.fields.lookup(row, "ground_truth")), MAX_TRUTH),
            }

        if ex["best"] is None or reward > ex["best"]["reward"]:
            ex["best"] = make()
        if ex["worst"] is None or reward < ex["worst"]["reward"]:
            ex["worst"] = make()
        if fmt == 1.0 and acc < 0.5 and len(ex["wrong_formatted"]) < MAX_WRONG:
            ex["wrong_formatted"].append(make())
        if fmt == 0.0 and len(ex["format_failures"]) < MAX_FORMAT:
            ex["format_failures"].append(make())

    # -- steps, trends and prompt groups ----------------------------------------------------

    def _step_of(self, row: Mapping[str, Any]) -> float | None:
        if self.has_step is None:
            self.step_column = next(
                (c for c in STEP_COLUMNS if _number(row.get(c)) is not None), None
            )
            self.has_step = self.step_column is not None
        if self.step_column is None:
            return None
        v = _number(row.get(self.step_column))
        return v if v is not None else self._last_step

    def _step_row(self, row: Mapping[str, Any], label: str, reward: float, acc: float) -> None:
        self._scored += 1
        step = self._step_of(row)
        group = self.fields.lookup(row, "problem_id")
        if group is None:
            from ..cli._presets import chat_text

            prompt = chat_text(self.fields.lookup(row, "prompt"), "user")
            group = prompt if isinstance(prompt, str) else None
        if group is not None:
            self.group_column_seen = True
            group = _text(group)
        else:
            group = ("\0row", self._scored)  # no group: a group of one
        if step is not None:
            if self._buf and step != self._buf_x:
                self._flush()
            if not self._buf and self._max_done is not None and (
                    step < self._max_done or (step == self._max_done and not self._split)):
                self.steps_out_of_order += 1  # a step after a later one, or one that came back
            self._split = False
            if len(self._buf) >= MAX_STEP_ROWS:
                self.steps_split += 1
                self._flush()
                self._split = True
            self._buf_x = step
            x = step
        else:
            n = len(self._buf)
            if n >= STEP_ROWS and (group != self._buf[-1][2] or n >= MAX_STEP_ROWS):
                self.steps_split += n >= MAX_STEP_ROWS
                self._flush()
            self._buf_x = float(self._scored)
            x = float(self._trend_bin())
        self._last_step = step
        data_type = self.fields.lookup(row, "data_type")
        # the label is the task string as the dump spells it: what a trainer keys its EMA by
        self._buf.append(
            (label, str(data_type) if data_type is not None else None, group, reward, acc)
        )
        point = self.trend.setdefault(label, {}).setdefault(x, [0, 0.0, 0.0])
        point[0] += 1
        point[1] += reward
        point[2] += acc

    def _trend_bin(self) -> int:
        """The first row of the file-order bin of the current row (bins double to stay few)."""
        i = self._scored - 1
        if i // self._bin_rows >= TREND_BINS:
            self._bin_rows *= 2
            for label, points in self.trend.items():
                merged: dict[float, list[float]] = {}
                for x, (n, r, a) in points.items():
                    m = merged.setdefault(
                        float(int(x) // self._bin_rows * self._bin_rows), [0, 0.0, 0.0]
                    )
                    m[0] += n
                    m[1] += r
                    m[2] += a
                self.trend[label] = merged
        return i // self._bin_rows * self._bin_rows

    def _flush(self) -> None:
        """Replay the buffered step: group statistics, GRPO and EMA-GRPO advantages."""
        buf, self._buf = self._buf, []
        if not buf:
            return
        if self._buf_x is not None and self.has_step:
            self._max_done = (
                self._buf_x if self._max_done is None else max(self._max_done, self._buf_x)
            )
        labels = [b[0] for b in buf]
        dtypes = [b[1] for b in buf]
        groups = [b[2] for b in buf]
        rewards = np.array([b[3] for b in buf], dtype=np.float64)
        a_grpo = np.abs(grpo(rewards, groups))
        a_ema = np.abs(
            ema_grpo(rewards, groups, labels, data_types=dtypes, normalizer=self.normalizer)
        )
        x = self._buf_x if self._buf_x is not None else float(self._scored)
        self.ema_std.append(
            (x, {k: self.normalizer.std(k) for k in sorted(set(task_keys(labels, dtypes)))})
        )
        members: dict[Any, list[int]] = {}
        for i, g in enumerate(groups):
            members.setdefault(g, []).append(i)
        for idx in members.values():
            gs = self.groups.get(labels[idx[0]])
            if gs is None:
                gs = self.groups[labels[idx[0]]] = _GroupStats()
            if len(idx) < 2:
                gs.singletons += 1
                continue
            gs.groups += 1
            r = [buf[i][3] for i in idx]
            accs = [buf[i][4] for i in idx]
            gs.zero_std += max(r) - min(r) <= 1e-8
            gs.all_right += min(accs) >= 1.0
            gs.all_wrong += max(accs) <= 0.0
        for i, label in enumerate(labels):
            gs = self.groups.get(label) or self.groups.setdefault(label, _GroupStats())
            gs.rows += 1
            gs.abs_grpo += float(a_grpo[i])
            gs.abs_ema += float(a_ema[i])

    def finish(self) -> ReportData:
        """Replay the last buffered step (idempotent); returns self."""
        if not self._finished:
            self._flush()
            self._finished = True
            if self.steps_out_of_order:
                log.warning(
                    "report: %d steps came back after later ones; "
                    "the EMA replay follows file order",
                    self.steps_out_of_order,
                )
        return self

    # -- the numbers -------------------------------------------------------------------------

    def summary(self, title: str = "unireward report",
                inputs: Iterable[str] = ()) -> dict[str, Any]:
        """Every number of the report as JSON-ready data (the page is drawn from it)."""
        self.finish()
        labels = sorted(self.tasks)
        total = TaskStats()
        for label in labels:
            total.merge(self.tasks[label])
        return {
            "title": title,
            "inputs": list(inputs),
            "rows_read": self.rows_read,
            "scored_rows": total.n,
            "error_rows": self.errors,
            "skipped_rows": self.skipped,
            "tasks": {label: self.tasks[label].to_json() for label in labels},
            "all_tasks": total.to_json() if total.n else None,
            "groups": self._groups_json(labels),
            "trend": self._trend_json(),
            "lengths": {"token_column": self.token_column or None, "bins": LENGTH_BINS},
            "benchmarks": self.bench.table(),
            "examples": {label: self.examples[label] for label in labels},
            "errors": {"rows": self.errors, "by_task": dict(self.errors_by_task.most_common()),
                       "by_reason": dict(self.errors_by_reason.most_common(20)),
                       "examples": self.error_examples},
            "skipped": {"rows": self.skipped, "examples": self.skipped_examples},
        }

    def _groups_json(self, labels: list[str]) -> dict[str, Any]:
        """The prompt-group statistics per task and over all tasks."""
        all_groups = _GroupStats()
        for gs in self.groups.values():
            all_groups.merge(gs)
        tg, te = all_groups.abs_grpo, all_groups.abs_ema
        return {
            "column": self.group_column_seen,
            "steps": len(self.ema_std),
            "steps_out_of_order": self.steps_out_of_order,
            "steps_split": self.steps_split,
            "tasks": {label: self.groups[label].to_json(tg, te)
                      for label in labels if label in self.groups},
            "all_tasks": all_groups.to_json(tg, te),
        }

    def _trend_json(self) -> dict[str, Any]:
        """Per task, the mean reward and accuracy over training, and the EMA's spread."""
        trend = {label: {"x": sorted(points), "rows": [int(points[x][0]) for x in sorted(points)],
                         "reward": [points[x][1] / points[x][0] for x in sorted(points)],
                         "accuracy": [points[x][2] / points[x][0] for x in sorted(points)]}
                 for label, points in sorted(self.trend.items())}
        keys = sorted({k for _, stds in self.ema_std for k in stds})
        return {
            "by": "step" if self.has_step else "rows",
            "column": self.step_column,
            "bin_rows": None if self.has_step else self._bin_rows,
            "tasks": trend,
            "ema_std": {"x": [x for x, _ in self.ema_std],
                        "keys": {k: [stds.get(k) for _, stds in self.ema_std] for k in keys}},
            "ema_final": {k: {**v, "std": self.normalizer.std(k)}
                          for k, v in self.normalizer.state_dict()["tasks"].items()},
        }


def build_report(rows: Iterable[Mapping[str, Any]], fields: Any = None) -> ReportData:
    """Gather the report's data from scored rows in one pass.

    >>> rows = [{"task": "numerical", "problem_id": "p", "reward": r, "accuracy": a, "format": 1.0,
    ...          "structure": 0.5, "status": "ok", "completion": "<answer>3</answer>"}
    ...         for r, a in ((1.5, 1.0), (0.6, 0.0))]
    >>> s = build_report(rows).summary()
    >>> t = s["tasks"]["numerical"]
    >>> round(t["reward_mean"], 6), round(t["reward_std"], 6)
    (1.05, 0.45)
    >>> g = s["groups"]["tasks"]["numerical"]
    >>> g["groups"], g["zero_std_groups"], round(g["mean_abs_advantage_grpo"], 4)
    (1, 0, 0.7071)
    """
    data = ReportData(fields)
    for row in rows:
        data.add(row)
    return data.finish()
