"""Mapping raw reward-model scores to accuracies in [0, 1] (pure numpy).

Two mappings, as in the OneThinker reference:

* **per problem** (default): within each group of samples that share a ``problem_id`` (the n
  rollouts of one prompt), z-score the raw scores with the population standard deviation,
  ``z = (v - mean) / (std + 1e-6)``, then min-max the z-scores,
  ``(z - min) / (max - min + 1e-12)``. A group whose std is exactly 0 (a single sample, or
  identical scores) gets 1.0 everywhere. The arithmetic is float32, like the reference, so
  0.7 comes out as 0.699999988079071.

  Quirk (reproduced by default): in float32 the mean of identical scores is not always the
  score itself (three times 1.7 is one such case), so their std comes out tiny but not 0,
  every z is the same, and the min-max gives 0.0 to all of them instead of 1.0. With
  ``strict=True`` identical scores always get 1.0 and the arithmetic is float64.
* **clip**: the raw score clipped to [0, 1] (float64). No sigmoid.

Samples whose ``problem_id`` is ``None`` form ONE group together, as in the reference (which
groups on ``problem_id`` with ``None`` as an ordinary key). Giving each of them a group of its
own would hand every such sample 1.0 whatever its score.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt

from ..errors import ConfigurationError

__all__ = ["clip_unit", "normalize_by_group", "scores_to_accuracies"]

_STD_EPS = 1e-6
_RANGE_EPS = 1e-12


def _as_scores(scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1:
        raise ConfigurationError(f"scores must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ConfigurationError("scores must be finite")
    return arr


def _group_indices(group_ids: Sequence[Hashable]) -> list[list[int]]:
    groups: dict[Hashable, list[int]] = {}
    for i, gid in enumerate(group_ids):
        try:
            groups.setdefault(gid, []).append(i)
        except TypeError:
            raise ConfigurationError(
                f"problem ids must be hashable, got {type(gid).__name__} at index {i}"
            ) from None
    return list(groups.values())


def _normalize_one(vals: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    mean = vals.mean()
    std = vals.std()
    if std == 0:
        return np.ones_like(vals)
    z = (vals - mean) / (std + vals.dtype.type(_STD_EPS))
    return (z - z.min()) / (z.max() - z.min() + vals.dtype.type(_RANGE_EPS))


def normalize_by_group(scores: npt.ArrayLike, group_ids: Sequence[Hashable], *,
                       strict: bool = False) -> npt.NDArray[np.float64]:
    """Per-group z-score then min-max, computed in float32 (the reference's arithmetic).

    Args:
        scores: raw reward-model scores, shape ``(n,)``, finite.
        group_ids: one hashable key per score (``None`` is an ordinary key).
        strict: float64 arithmetic, and groups of identical scores always get 1.0 (the
            reference gives some of them 0.0: see the module docstring).

    Returns:
        float64 array of shape ``(n,)`` holding float32-rounded values in [0, 1].

    Raises:
        ConfigurationError: shapes differ, or a score is not finite.

    >>> normalize_by_group([1.5, 3.0, -2.0, 0.5], ["p1"] * 4).tolist()
    [0.699999988079071, 1.0, 0.0, 0.5]
    >>> normalize_by_group([2.0, 5.0, 7.0], ["a", "b", None]).tolist()  # std 0 in every group
    [1.0, 1.0, 1.0]
    >>> normalize_by_group([], []).tolist()
    []
    >>> normalize_by_group([1.7, 1.7, 1.7], ["q"] * 3).tolist()  # the float32 quirk
    [0.0, 0.0, 0.0]
    >>> normalize_by_group([0.1, 0.1, 0.1], ["q"] * 3, strict=True).tolist()
    [1.0, 1.0, 1.0]
    """
    arr = _as_scores(scores)
    if len(group_ids) != arr.shape[0]:
        raise ConfigurationError(
            f"got {arr.shape[0]} scores but {len(group_ids)} group ids")
    out = np.empty(arr.shape[0], dtype=np.float64)
    for idx in _group_indices(group_ids):
        vals = arr[idx]
        if strict:
            same = bool(np.all(vals == vals[0]))
            out[idx] = 1.0 if same else _normalize_one(vals / np.abs(vals).max())
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            f32 = vals.astype(np.float32)
            finite = bool(np.all(np.isfinite(f32)) and np.isfinite(f32.std()))
            norm = _normalize_one(f32) if finite else None
        if norm is None or not np.all(np.isfinite(norm)):
            # float32 overflowed (|score| beyond ~1e19): the reference would produce garbage;
            # we redo the group in float64 on scores scaled by their largest magnitude
            norm = _normalize_one(vals / np.abs(vals).max())
        out[idx] = norm
    return np.clip(out, 0.0, 1.0) + 0.0  # + 0.0 turns -0.0 into 0.0


def clip_unit(scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Raw scores clipped to [0, 1] (float64).

    >>> clip_unit([1.5, 0.25, -2.0]).tolist()
    [1.0, 0.25, 0.0]
    """
    return np.clip(_as_scores(scores), 0.0, 1.0)


def scores_to_accuracies(scores: npt.ArrayLike, problem_ids: Sequence[Hashable] | None = None,
                         *, normalize_by_problem_id: bool = True,
                         strict: bool = False) -> npt.NDArray[np.float64]:
    """Map raw reward-model scores to accuracies in [0, 1].

    Args:
        scores: raw scores, shape ``(n,)``, finite.
        problem_ids: the group key of each score; ``None`` (the whole argument) puts every
            score in one group.
        normalize_by_problem_id: per-problem z-score + min-max when True, clipping when False.
        strict: see :func:`normalize_by_group`.

    >>> scores_to_accuracies([1.5, 0.25, -2.0], normalize_by_problem_id=False).tolist()
    [1.0, 0.25, 0.0]
    >>> scores_to_accuracies([0.0, 1.0, 5.0, 5.0], ["a", "a", "b", "b"]).tolist()
    [0.0, 1.0, 1.0, 1.0]
    """
    if not normalize_by_problem_id:
        return clip_unit(scores)
    arr = _as_scores(scores)
    ids: Sequence[Hashable] = [None] * arr.shape[0] if problem_ids is None else problem_ids
    return normalize_by_group(arr, ids, strict=strict)
