"""Numpy advantage estimators and the per-task EMA tracker.

GRPO and Dr. GRPO work in float32. EMA-GRPO has two arithmetics, chosen by the tracker's
``profile``: ``onethinker`` reproduces the reference's float32 reductions (computed by
torch on the CPU when torch is installed, as the reference computes them; by numpy
otherwise, see docs/advantage.md for the difference), ``strict`` computes every mean and
moment in float64 with shifted (two-pass) moments. The tracker's EMA is kept in Python
floats in both.
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

#: the arithmetics of EMA-GRPO (see :class:`EMARewardNormalizer`)
EMA_PROFILES = ("onethinker", "strict")


def _rewards64(rewards: Any) -> tuple[np.ndarray, np.ndarray]:
    """float64 rewards (unscorable -> 0) and the mask of scorable ones."""
    vals = [np.nan if r is None else r for r in rewards] if isinstance(rewards, list) else rewards
    arr = np.asarray(vals, dtype=np.float64)
    if arr.ndim != 1:
        raise ConfigurationError(f"rewards must be a flat sequence, got shape {arr.shape}")
    valid = np.isfinite(arr)
    return np.where(valid, arr, 0.0), valid


def _rewards(rewards: Any) -> tuple[np.ndarray, np.ndarray]:
    """float32 rewards (unscorable -> 0) and the mask of scorable ones."""
    arr, valid = _rewards64(rewards)
    return arr.astype(F32), valid


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


def _group_stats(
    r: np.ndarray, valid: np.ndarray, inv: np.ndarray, k: int, unbiased: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def task_keys(
    tasks: Sequence[str],
    data_types: Sequence[str | None] | None = None,
    *,
    profile: str = "onethinker",
) -> list[str]:
    """EMA task keys: the raw task strings (NOT lower-cased, as in the reference), refined
    where the task's scorer says so (:meth:`~unireward.TaskScorer.ema_key`): segmentation
    is split by data type. A task no scorer is registered for keeps its string.

    ``onethinker`` splits as the reference does: only the task spelled exactly
    ``segmentation``, and only for the data types ``image`` and ``video`` (any case);
    ``strict`` splits any spelling of segmentation by any data type (lower-cased).

    >>> tasks = ["segmentation", "segmentation", "Segmentation", "OCR"]
    >>> task_keys(tasks, ["Video", "3d", "image", "image"])
    ['segmentation/video', 'segmentation', 'Segmentation', 'OCR']
    >>> task_keys(["Segmentation", "segmentation"], ["image", "3D"], profile="strict")
    ['Segmentation/image', 'segmentation/3d']
    """
    if data_types is not None and len(data_types) != len(tasks):
        raise ConfigurationError(f"got {len(tasks)} tasks but {len(data_types)} data types")
    if profile not in EMA_PROFILES:
        raise ConfigurationError(f"profile must be one of {EMA_PROFILES}, got {profile!r}")
    strict = profile == "strict"
    from ..errors import UniRewardError
    from ..registry import get_scorer

    def key(task: Any, data_type: Any) -> str:
        t = str(task)
        try:
            scorer = get_scorer(t)
        except UniRewardError:
            return t
        return scorer.ema_key(t, data_type, strict=strict)

    if data_types is None:
        by_task = {t: key(t, None) for t in dict.fromkeys(tasks)}
        return list(map(by_task.__getitem__, tasks))
    pairs = list(zip(tasks, data_types, strict=True))
    by_pair = {p: key(*p) for p in dict.fromkeys(pairs)}
    return list(map(by_pair.__getitem__, pairs))


# --------------------------------------------------------------------------------------
# The arithmetic of EMA-GRPO: reductions over one set of rewards
# --------------------------------------------------------------------------------------


class _TorchFloat32:
    """The reference's reductions: torch float32 on the CPU (``x.mean()``,
    ``(x * x).mean()``, ``torch.std(x, unbiased=False)``)."""

    dtype = F32

    def __init__(self) -> None:
        import torch

        self._torch = torch

    def row_means(self, x: np.ndarray) -> np.ndarray:
        """The mean of each row of a 2-D array (torch reduces each contiguous row as it
        reduces a 1-D tensor: the same float32 sum, checked in the tests)."""
        return self._torch.from_numpy(x).mean(dim=1).numpy()

    def moments(self, x: np.ndarray) -> tuple[float, float]:
        t = self._torch.from_numpy(x)
        return t.mean().item(), (t * t).mean().item()

    def pop_std(self, x: np.ndarray) -> float:
        return float(self._torch.std(self._torch.from_numpy(x), unbiased=False).item())


class _NumpyFloat32:
    """float32 reductions in numpy, for installations without torch. torch sums float32
    with several accumulators (nearly the correctly rounded sum); here the float32 values
    are summed in float64 and the sum rounded once, which agrees with torch in most cases
    and is at most a few float32 ulps away otherwise (measured in docs/advantage.md)."""

    dtype = F32

    def row_means(self, x: np.ndarray) -> np.ndarray:
        sums = np.asarray(np.sum(x, axis=-1, dtype=np.float64)).astype(F32)
        return np.asarray(sums / F32(x.shape[-1]))

    def moments(self, x: np.ndarray) -> tuple[float, float]:
        return float(self.row_means(x)), float(self.row_means(x * x))

    def pop_std(self, x: np.ndarray) -> float:
        x64 = x.astype(np.float64)
        return float(F32(np.sqrt(np.mean((x64 - x64.mean()) ** 2))))


class _Float64:
    """The ``strict`` arithmetic: float64, correctly rounded sums (``math.fsum``) and
    shifted moments (``mean(s^2) = mean(s)^2 + mean((s - mean(s))^2)``), so a task whose
    rewards cluster loses no digits to cancellation in the batch moments."""

    dtype = np.float64

    def row_means(self, x: np.ndarray) -> np.ndarray:
        return np.array([math.fsum(row) / len(row) for row in x.tolist()], dtype=np.float64)

    def _centred(self, x: np.ndarray) -> tuple[float, float]:
        m = math.fsum(x.tolist()) / len(x)
        return m, math.fsum(((x - m) ** 2).tolist()) / len(x)

    def moments(self, x: np.ndarray) -> tuple[float, float]:
        m, var = self._centred(x)
        return m, m * m + var

    def pop_std(self, x: np.ndarray) -> float:
        return math.sqrt(self._centred(x)[1])


_TORCH_ARITHMETIC: list[Any] = []


def _arithmetic(profile: str) -> Any:
    """The reductions of a profile (torch float32 when torch can be imported)."""
    if profile == "strict":
        return _Float64()
    if not _TORCH_ARITHMETIC:
        try:
            _TORCH_ARITHMETIC.append(_TorchFloat32())
        except ImportError:
            _TORCH_ARITHMETIC.append(_NumpyFloat32())
    return _TORCH_ARITHMETIC[0]


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
    ``1 - beta**t``). With ``sync=True`` each task's batch rewards are gathered from
    the data-parallel ranks through ``torch.distributed`` (when it is initialised), so every
    rank holds the same state.

    ``profile="onethinker"`` (default) reproduces the reference's float32 arithmetic;
    ``"strict"`` computes means and moments in float64 (see docs/advantage.md).
    With ``sync=True`` the state equals that of one process seeing the whole batch.

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
        profile: str = "onethinker",
    ) -> None:
        if not 0.0 <= beta < 1.0:
            raise ConfigurationError(f"beta must be in [0, 1), got {beta!r}")
        if min_std < 0 or eps < 0:
            raise ConfigurationError("min_std and eps must be >= 0")
        if guard is not None and guard <= 0:
            raise ConfigurationError(f"guard must be > 0 or None, got {guard!r}")
        if profile not in EMA_PROFILES:
            raise ConfigurationError(f"profile must be one of {EMA_PROFILES}, got {profile!r}")
        self.beta = float(beta)
        self.min_std = float(min_std)
        self.eps = float(eps)
        self.guard = None if guard is None else float(guard)
        self.bias_correction = bool(bias_correction)
        self.sync = bool(sync)
        self.profile = profile
        self.tasks: dict[str, TaskMoments] = {}
        self.step = 0

    # -- statistics --------------------------------------------------------------------

    def _batch_moments(
        self, r: np.ndarray, valid: np.ndarray, keys: Sequence[str]
    ) -> dict[str, tuple[float, float]]:
        """Each task's batch moments ``(mean(s), mean(s^2))`` over its scorable rewards, in
        the profile's arithmetic. When synchronised, every rank's rewards of a task are
        gathered (in rank order) first, so all ranks compute the moments of the whole
        batch, exactly as one process seeing every rank's rewards would."""
        codes, uniques = _codes(keys)
        ar = _arithmetic(self.profile)
        x = r[valid].astype(ar.dtype)
        per_key = {
            uniques[j]: x[pos]
            for j, pos in enumerate(_positions(codes[valid], len(uniques)))
            if len(pos)
        }
        dist = self._dist() if self.sync else None
        if dist is not None:
            per_key = self._all_gather(dist, per_key, ar.dtype)
        return {key: ar.moments(np.ascontiguousarray(v)) for key, v in per_key.items()}

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
    def _all_gather(dist: Any, per_key: dict[str, np.ndarray], dtype: Any) -> dict[str, np.ndarray]:
        """Every rank's rewards per task key, concatenated in rank order (all_gather_object:
        a batch's rewards are a few thousand floats)."""
        gathered: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, {k: v.tolist() for k, v in per_key.items()})
        merged: dict[str, list[float]] = {}
        for part in gathered:
            for key, vals in part.items():
                merged.setdefault(key, []).extend(vals)
        return {key: np.asarray(vals, dtype=dtype) for key, vals in sorted(merged.items())}

    def update(self, rewards: Any, keys: Sequence[str]) -> dict[str, float]:
        """Fold one batch into the moments; returns each updated task's std."""
        r, valid = _rewards64(rewards)
        if len(keys) != len(r):
            raise ConfigurationError(f"got {len(r)} rewards but {len(keys)} task keys")
        self._fold(self._batch_moments(r, valid, keys))
        return {k: self.std(k) for k in self.tasks}

    def _fold(self, batch: Mapping[str, tuple[float, float]]) -> None:
        self.step += 1
        for key, (m1b, m2b) in batch.items():
            cur = self.tasks.get(key)
            if cur is None:
                if self.bias_correction:
                    self.tasks[key] = TaskMoments((1 - self.beta) * m1b, (1 - self.beta) * m2b, 1)
                else:
                    self.tasks[key] = TaskMoments(m1b, m2b, 1)
            else:
                b = self.beta
                cur.m1 = b * cur.m1 + (1.0 - b) * m1b
                cur.m2 = b * cur.m2 + (1.0 - b) * m2b
                cur.steps += 1

    def moments(self, key: str) -> tuple[float, float]:
        m = self.tasks[key]
        if self.bias_correction:
            c = 1 - self.beta**m.steps
            return m.m1 / c, m.m2 / c
        return m.m1, m.m2

    def std(self, key: str) -> float:
        """``sqrt(max(m2 - m1**2, min_std**2))`` of a task (``** 0.5``, as the reference
        takes the root)."""
        m1, m2 = self.moments(key)
        var = max(m2 - m1 * m1, 0.0)
        return float(max(var, self.min_std**2) ** 0.5)

    def scale(self, key: str) -> float:
        """The divisor of a task's advantages, ``std + eps`` (1.0 for a task never seen with
        a scorable reward: all its advantages are 0 anyway)."""
        return self.std(key) + self.eps if key in self.tasks else 1.0

    # -- persistence ---------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot (constants included) for checkpoints."""
        return {
            "version": 1,
            "config": {
                "beta": self.beta,
                "min_std": self.min_std,
                "eps": self.eps,
                "guard": self.guard,
                "bias_correction": self.bias_correction,
                "profile": self.profile,
            },
            "step": self.step,
            "tasks": {k: v.to_dict() for k, v in self.tasks.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a snapshot made by :meth:`state_dict`."""
        try:
            cfg = state["config"]
            profile = str(cfg.get("profile", "onethinker"))
            if profile not in EMA_PROFILES:
                raise ValueError(f"unknown profile {profile!r}")
            self.beta, self.min_std, self.eps = (
                float(cfg["beta"]),
                float(cfg["min_std"]),
                float(cfg["eps"]),
            )
            self.guard = None if cfg["guard"] is None else float(cfg["guard"])
            self.bias_correction = bool(cfg["bias_correction"])
            self.profile = profile
            self.step = int(state["step"])
            self.tasks = {
                k: TaskMoments(float(v["m1"]), float(v["m2"]), int(v["steps"]))
                for k, v in state["tasks"].items()
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigurationError(f"not an EMARewardNormalizer state: {exc!r}") from exc

    def __repr__(self) -> str:
        tasks = ", ".join(f"{k}: std={self.std(k):.4f}" for k in self.tasks)
        return (
            f"EMARewardNormalizer(profile={self.profile!r}, beta={self.beta}, "
            f"step={self.step}, tasks={{{tasks}}})"
        )


def _positions(codes: np.ndarray, n_codes: int) -> list[np.ndarray]:
    """The positions of each code, in order (codes from :func:`_codes`)."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_codes + 1))
    return [order[bounds[j] : bounds[j + 1]] for j in range(n_codes)]


def ema_grpo(
    rewards: Any,
    group_ids: Sequence[Any],
    tasks: Sequence[str],
    *,
    data_types: Sequence[str | None] | None = None,
    normalizer: EMARewardNormalizer,
) -> np.ndarray:
    """EMA-GRPO advantages (float32, one per reward); the normalizer advances by one step.

    ``A = (s - group mean) / (sigma_task + eps)`` with ``sigma_task`` from the tracker after
    it has been updated with this batch; a group (within one task) with any
    ``|A| > guard`` uses its own population std instead. Unscorable rewards (None / NaN)
    and groups of one get 0.

    The arithmetic is the normalizer's ``profile``: ``onethinker`` computes as the
    reference does (float32 rewards; group means, batch moments and the guard's group
    std as float32 reductions; the task scale as a Python float divided in float32);
    ``strict`` in float64 throughout, rounded to float32 once at the end.
    """
    if normalizer is None or not isinstance(normalizer, EMARewardNormalizer):
        raise ConfigurationError("ema_grpo needs normalizer=EMARewardNormalizer(...)")
    r64, valid = _rewards64(rewards)
    n = len(r64)
    inv, k = _groups(group_ids, n)
    if len(tasks) != n:
        raise ConfigurationError(f"got {n} rewards but {len(tasks)} tasks")
    keys = task_keys(tasks, data_types, profile=normalizer.profile)
    ar = _arithmetic(normalizer.profile)
    r = r64.astype(ar.dtype)

    # 1. centre within each group (over its scorable members); groups of one size at once
    members = _positions(np.where(valid, inv, k), k + 1)[:k]
    n_members = np.array([len(p) for p in members], dtype=np.intp)
    group_mean = np.zeros(k, dtype=ar.dtype)
    for size in np.unique(n_members[n_members > 1]).tolist():
        groups = np.flatnonzero(n_members == size)
        rows = np.stack([members[g] for g in groups.tolist()])
        group_mean[groups] = ar.row_means(np.ascontiguousarray(r[rows]))
    centred = r - group_mean[inv]

    # 2. fold the batch into the tracker, then 3. divide by the task scale (a Python float,
    # rounded to the rewards' dtype as the reference's tensor division rounds it)
    normalizer._fold(normalizer._batch_moments(r64, valid, keys))
    key_codes, uniques = _codes(keys)
    scales = np.array([normalizer.scale(key) for key in uniques], dtype=np.float64).astype(ar.dtype)
    ok = valid & (n_members[inv] > 1)
    adv = np.where(ok, centred / scales[key_codes], ar.dtype(0))

    # 4. guard, per (task, group): a unit with any |A| > guard uses its population std
    guard, eps = normalizer.guard, normalizer.eps
    if guard is not None:
        unit = key_codes * k + inv
        bad = np.unique(unit[ok & (np.abs(adv) > guard)])
        for u in bad.tolist():
            pos = np.flatnonzero(ok & (unit == u))
            c = centred[pos]
            adv[pos] = c / ar.dtype(ar.pop_std(np.ascontiguousarray(r[pos])) + eps)
    return adv.astype(F32)
