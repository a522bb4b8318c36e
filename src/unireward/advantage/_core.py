"""Numpy advantage estimators and the per-task EMA tracker.

Arithmetic follows the reference exactly: rewards, group means and batch moments in
float32; the tracker's moments and standard deviations as Python floats (float64).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..errors import ConfigurationError

__all__ = ["EMARewardNormalizer", "TaskMoments", "dr_grpo", "ema_grpo", "grpo", "task_keys"]

F32 = np.float32


def _rewards(rewards: Any) -> tuple[np.ndarray, np.ndarray]:
    """float32 rewards (unscorable -> 0) and the mask of scorable ones."""
    vals = [np.nan if r is None else r for r in rewards] if isinstance(rewards, list) else rewards
    arr = np.asarray(vals, dtype=np.float64)
    if arr.ndim != 1:
        raise ConfigurationError(f"rewards must be a flat sequence, got shape {arr.shape}")
    valid = np.isfinite(arr)
    return np.where(valid, arr, 0.0).astype(F32), valid


def _codes(values: Sequence[Any]) -> tuple[np.ndarray, list[Any]]:
    """Integer codes of hashable labels (in order of first appearance) and the labels."""
    uniques = list(dict.fromkeys(values))
    index = {v: i for i, v in enumerate(uniques)}
    return np.fromiter(map(index.__getitem__, values), dtype=np.intp, count=len(values)), uniques


def _groups(group_ids: Sequence[Any], n: int) -> tuple[np.ndarray, int]:
    if len(group_ids) != n:
        raise ConfigurationError(f"got {n} rewards but {len(group_ids)} group ids")
    inv, uniques = _codes(group_ids)
    return inv, len(uniques)


def _group_stats(r: np.ndarray, valid: np.ndarray, inv: np.ndarray, k: int, unbiased: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample group mean, group std and group size (over scorable samples), float32."""
    w = valid.astype(F32)
    count = np.bincount(inv, weights=w, minlength=k).astype(F32)
    total = np.bincount(inv, weights=(r * w).astype(np.float64), minlength=k)
    # float32 like the reference: sum in float64 of float32 values is exact enough, the
    # division is done in float32
    mean = (total / np.maximum(count, 1.0)).astype(F32)
    centred = (r - mean[inv]).astype(F32) * w
    ss = np.bincount(inv, weights=(centred.astype(np.float64) ** 2), minlength=k).astype(F32)
    dof = count - (F32(1) if unbiased else F32(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(np.where(dof > 0, ss / np.maximum(dof, F32(1)), F32(0))).astype(F32)
    return mean[inv], std[inv], count[inv]


def grpo(
    rewards: Any,
    group_ids: Sequence[Any],
    *,
    eps: float = 1e-6,
    std: Literal["unbiased", "population"] = "unbiased",
) -> np.ndarray:
    """GRPO: ``(s - group mean) / (group std + eps)``; float32.

    Groups of one sample and unscorable rewards (None / NaN) get advantage 0; unscorable
    rewards are left out of their group's statistics.

    >>> [round(float(a), 3) for a in grpo([1.0, 0.0, None], ["g", "g", "g"])]
    [0.707, -0.707, 0.0]
    """
    if std not in ("unbiased", "population"):
        raise ConfigurationError(f"std must be 'unbiased' or 'population', got {std!r}")
    r, valid = _rewards(rewards)
    inv, k = _groups(group_ids, len(r))
    mean, sd, count = _group_stats(r, valid, inv, k, std == "unbiased")
    adv = ((r - mean) / (sd + F32(eps))).astype(F32)
    return np.where(valid & (count > 1), adv, F32(0))


def dr_grpo(rewards: Any, group_ids: Sequence[Any]) -> np.ndarray:
    """Dr. GRPO: ``s - group mean`` (no division by the std); float32.

    >>> [float(a) for a in dr_grpo([1.0, 0.0], ["g", "g"])]
    [0.5, -0.5]
    """
    r, valid = _rewards(rewards)
    inv, k = _groups(group_ids, len(r))
    mean, _, count = _group_stats(r, valid, inv, k, False)
    return np.where(valid & (count > 1), (r - mean).astype(F32), F32(0))


def task_keys(tasks: Sequence[str], data_types: Sequence[str | None] | None = None) -> list[str]:
    """EMA task keys: the raw task strings (NOT lower-cased, as in the reference), with
    segmentation split by data type.

    >>> task_keys(["segmentation", "OCR"], ["Video", "image"])
    ['segmentation/video', 'OCR']
    """
    if data_types is not None and len(data_types) != len(tasks):
        raise ConfigurationError(f"got {len(tasks)} tasks but {len(data_types)} data types")
    def key(task: Any, data_type: Any) -> str:
        t = str(task)
        return f"{t}/{str(data_type).lower()}" if t.strip().lower() == "segmentation" else t

    if data_types is None:
        by_task = {t: key(t, None) for t in dict.fromkeys(tasks)}
        return list(map(by_task.__getitem__, tasks))
    pairs = list(zip(tasks, data_types, strict=True))
    by_pair = {p: key(*p) for p in dict.fromkeys(pairs)}
    return list(map(by_pair.__getitem__, pairs))


@dataclass
class TaskMoments:
    """The tracker's state for one task."""

    m1: float
    m2: float
    steps: int = 1

    def to_dict(self) -> dict[str, float]:
        return {"m1": self.m1, "m2": self.m2, "steps": self.steps}


class EMARewardNormalizer:
    """Per-task exponential moving averages of the first two reward moments.

    Defaults are the reference's constants: ``beta = 0.99``, ``min_std = 1e-3``,
    ``eps = 1e-6``, ``guard = 5.0``; moments are updated from the batch *before* they are
    used; a task seen for the first time starts at its batch moments (no bias correction,
    unless ``bias_correction=True``: then the moments start at 0 and are divided by
    ``1 - beta**t``). With ``sync=True`` the batch sums are all-reduced over the
    data-parallel ranks through ``torch.distributed`` (when it is initialised), so every
    rank holds the same state.

    >>> n = EMARewardNormalizer()
    >>> _ = n.update([1.0, 0.0, 1.0, 0.0], ["t"] * 4)
    >>> n.std("t")
    0.5
    >>> n.load_state_dict(n.state_dict()); n.std("t")
    0.5
    """

    def __init__(
        self,
        *,
        beta: float = 0.99,
        min_std: float = 1e-3,
        eps: float = 1e-6,
        guard: float | None = 5.0,
        bias_correction: bool = False,
        sync: bool = False,
    ) -> None:
        if not 0.0 <= beta < 1.0:
            raise ConfigurationError(f"beta must be in [0, 1), got {beta!r}")
        if min_std < 0 or eps < 0:
            raise ConfigurationError("min_std and eps must be >= 0")
        if guard is not None and guard <= 0:
            raise ConfigurationError(f"guard must be > 0 or None, got {guard!r}")
        self.beta = float(beta)
        self.min_std = float(min_std)
        self.eps = float(eps)
        self.guard = None if guard is None else float(guard)
        self.bias_correction = bool(bias_correction)
        self.sync = bool(sync)
        self.tasks: dict[str, TaskMoments] = {}
        self.step = 0

    # -- statistics --------------------------------------------------------------------

    def _batch_moments(self, r: np.ndarray, valid: np.ndarray, keys: Sequence[str]) -> dict[str, tuple[float, float, int]]:
        """Each task's batch moments ``(mean(s), mean(s^2), count)`` (float32 means, as in
        the reference), summed over all ranks when synchronised."""
        codes, uniques = _codes(keys)
        codes = codes[valid]
        r = r[valid]
        # sums of float32 values and of float32 squares, accumulated in float64
        total = np.bincount(codes, weights=r.astype(np.float64), minlength=len(uniques))
        sq = np.bincount(codes, weights=(r * r).astype(F32).astype(np.float64), minlength=len(uniques))
        count = np.bincount(codes, minlength=len(uniques))
        sums = {key: (float(total[j]), float(sq[j]), int(count[j]))
                for j, key in enumerate(uniques) if count[j] > 0}
        dist = self._dist() if self.sync else None
        if dist is not None:
            sums = self._all_reduce(dist, sums)
        return {key: (float(F32(t / n)), float(F32(q / n)), n) for key, (t, q, n) in sums.items() if n > 0}

    @staticmethod
    def _dist() -> Any:
        try:
            import torch.distributed as dist
        except ImportError:
            return None
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            return dist
        return None

    @staticmethod
    def _all_reduce(dist: Any, sums: dict[str, tuple[float, float, int]]) -> dict[str, tuple[float, float, int]]:
        """Agree on the union of task keys (all_gather_object), then all-reduce one
        ``(sum, sum of squares, count)`` row per task in float64."""
        import torch

        gathered: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, sorted(sums))
        keys = sorted(set().union(*gathered))
        table = torch.zeros((len(keys), 3), dtype=torch.float64)
        for j, key in enumerate(keys):
            if key in sums:
                table[j] = torch.tensor(sums[key], dtype=torch.float64)
        if dist.get_backend() == "nccl" and torch.cuda.is_available():
            table = table.cuda()
        dist.all_reduce(table)
        return {key: (t, q, int(round(n))) for key, (t, q, n) in zip(keys, table.cpu().tolist(), strict=True)}

    def update(self, rewards: Any, keys: Sequence[str]) -> dict[str, float]:
        """Fold one batch into the moments; returns each updated task's std."""
        r, valid = _rewards(rewards)
        if len(keys) != len(r):
            raise ConfigurationError(f"got {len(r)} rewards but {len(keys)} task keys")
        self.step += 1
        for key, (m1b, m2b, _n) in self._batch_moments(r, valid, keys).items():
            cur = self.tasks.get(key)
            if cur is None:
                if self.bias_correction:
                    cur = self.tasks[key] = TaskMoments((1 - self.beta) * m1b, (1 - self.beta) * m2b, 1)
                else:
                    cur = self.tasks[key] = TaskMoments(m1b, m2b, 1)
            else:
                b = self.beta
                cur.m1 = b * cur.m1 + (1 - b) * m1b
                cur.m2 = b * cur.m2 + (1 - b) * m2b
                cur.steps += 1
        return {k: self.std(k) for k in self.tasks}

    def moments(self, key: str) -> tuple[float, float]:
        m = self.tasks[key]
        if self.bias_correction:
            c = 1 - self.beta**m.steps
            return m.m1 / c, m.m2 / c
        return m.m1, m.m2

    def std(self, key: str) -> float:
        """``sqrt(max(m2 - m1**2, min_std**2))`` of a task."""
        m1, m2 = self.moments(key)
        return math.sqrt(max(m2 - m1 * m1, self.min_std**2))

    def scale(self, key: str) -> float:
        """The divisor of a task's advantages, ``std + eps`` (1.0 for a task never seen with
        a scorable reward: all its advantages are 0 anyway)."""
        return self.std(key) + self.eps if key in self.tasks else 1.0

    # -- persistence ---------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot (constants included) for checkpoints."""
        return {
            "version": 1,
            "config": {"beta": self.beta, "min_std": self.min_std, "eps": self.eps,
                       "guard": self.guard, "bias_correction": self.bias_correction},
            "step": self.step,
            "tasks": {k: v.to_dict() for k, v in self.tasks.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a snapshot made by :meth:`state_dict`."""
        try:
            cfg = state["config"]
            self.beta, self.min_std, self.eps = float(cfg["beta"]), float(cfg["min_std"]), float(cfg["eps"])
            self.guard = None if cfg["guard"] is None else float(cfg["guard"])
            self.bias_correction = bool(cfg["bias_correction"])
            self.step = int(state["step"])
            self.tasks = {k: TaskMoments(float(v["m1"]), float(v["m2"]), int(v["steps"])) for k, v in state["tasks"].items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"not an EMARewardNormalizer state: {exc!r}") from exc

    def __repr__(self) -> str:
        tasks = ", ".join(f"{k}: std={self.std(k):.4f}" for k in self.tasks)
        return f"EMARewardNormalizer(beta={self.beta}, step={self.step}, tasks={{{tasks}}})"


def ema_grpo(
    rewards: Any,
    group_ids: Sequence[Any],
    tasks: Sequence[str],
    *,
    data_types: Sequence[str | None] | None = None,
    normalizer: EMARewardNormalizer,
) -> np.ndarray:
    """EMA-GRPO advantages (one per reward); the normalizer advances by one step.

    ``A = (s - group mean) / (sigma_task + eps)`` with ``sigma_task`` from the tracker after
    it has been updated with this batch; a group with any ``|A| > guard`` uses its own
    population std instead. Unscorable rewards (None / NaN) and groups of one get 0.
    """
    if normalizer is None or not isinstance(normalizer, EMARewardNormalizer):
        raise ConfigurationError("ema_grpo needs normalizer=EMARewardNormalizer(...)")
    r, valid = _rewards(rewards)
    inv, k = _groups(group_ids, len(r))
    if len(tasks) != len(r):
        raise ConfigurationError(f"got {len(r)} rewards but {len(tasks)} tasks")
    keys = task_keys(tasks, data_types)
    normalizer.update(np.where(valid, r, F32(np.nan)), keys)
    mean, pop_std, count = _group_stats(r, valid, inv, k, unbiased=False)
    centred = (r - mean).astype(F32)
    # divide in float32 by the float32 value of the Python-float scale, like the reference
    codes, uniques = _codes(keys)
    scale = np.array([normalizer.scale(key) for key in uniques], dtype=np.float64).astype(F32)[codes]
    adv = (centred / scale).astype(F32)
    ok = valid & (count > 1)
    adv = np.where(ok, adv, F32(0))
    if normalizer.guard is not None:
        bad = np.zeros(k, dtype=bool)
        np.logical_or.at(bad, inv, np.abs(adv) > normalizer.guard)
        if bad.any():
            fallback = (centred / (pop_std + F32(normalizer.eps))).astype(F32)
            adv = np.where(bad[inv] & ok, fallback, adv)
    return adv
