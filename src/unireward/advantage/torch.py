"""Torch twins of the advantage estimators: same numbers as the numpy versions, computed on
the rewards' device (CPU or CUDA; EMA-GRPO's reductions run on the CPU, as the reference's
do, and its advantages come back on the rewards' device). Needs the ``torch`` extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ConfigurationError, missing_extra
from ._core import EMARewardNormalizer, _codes
from ._core import ema_grpo as ema_grpo_numpy

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise missing_extra("torch", "torch") from exc

__all__ = ["dr_grpo", "ema_grpo", "grpo"]


def _prepare(rewards: Any, group_ids: Sequence[Any] | Any) -> tuple[Any, Any, Any, int]:
    if isinstance(rewards, torch.Tensor):
        r = rewards
    else:  # None marks an unscorable reward, like NaN
        vals = (
            [float("nan") if x is None else x for x in rewards]
            if isinstance(rewards, (list, tuple))
            else rewards
        )
        r = torch.as_tensor(vals, dtype=torch.float64)
    if r.ndim != 1:
        raise ConfigurationError(f"rewards must be a flat tensor, got shape {tuple(r.shape)}")
    device = r.device
    valid = torch.isfinite(r)
    r32 = torch.where(valid, r, torch.zeros_like(r)).to(torch.float32)
    if isinstance(group_ids, torch.Tensor):
        _, inv = torch.unique(group_ids.to(device), return_inverse=True)
        k = int(inv.max().item()) + 1 if inv.numel() else 0
    else:
        if len(group_ids) != r.numel():
            raise ConfigurationError(f"got {r.numel()} rewards but {len(group_ids)} group ids")
        codes, uniques = _codes(group_ids)
        inv = torch.from_numpy(codes).to(device=device, dtype=torch.long)
        k = len(uniques)
    return r32, valid, inv, k


def _group_stats(r: Any, valid: Any, inv: Any, k: int, unbiased: bool) -> tuple[Any, Any, Any]:
    w = valid.to(torch.float64)
    count = torch.zeros(k, dtype=torch.float64, device=r.device).index_add_(0, inv, w)
    total = torch.zeros(k, dtype=torch.float64, device=r.device).index_add_(0, inv, r.double() * w)
    mean = (total / count.clamp(min=1.0)).to(torch.float32)
    centred = (r - mean[inv]) * w.to(torch.float32)
    ss = (
        torch.zeros(k, dtype=torch.float64, device=r.device)
        .index_add_(0, inv, centred.double() ** 2)
        .to(torch.float32)
    )
    count32 = count.to(torch.float32)
    dof = count32 - (1.0 if unbiased else 0.0)
    std = torch.sqrt(torch.where(dof > 0, ss / dof.clamp(min=1.0), torch.zeros_like(ss)))
    return mean[inv], std[inv], count32[inv]


def grpo(rewards: Any, group_ids: Any, *, eps: float = 1e-6, std: str = "unbiased") -> Any:
    """Torch twin of :func:`unireward.advantage.grpo` (float32, on the rewards' device)."""
    if std not in ("unbiased", "population"):
        raise ConfigurationError(f"std must be 'unbiased' or 'population', got {std!r}")
    r, valid, inv, k = _prepare(rewards, group_ids)
    mean, sd, count = _group_stats(r, valid, inv, k, std == "unbiased")
    adv = (r - mean) / (sd + eps)
    return torch.where(valid & (count > 1), adv, torch.zeros_like(adv))


def dr_grpo(rewards: Any, group_ids: Any) -> Any:
    """Torch twin of :func:`unireward.advantage.dr_grpo`."""
    r, valid, inv, k = _prepare(rewards, group_ids)
    mean, _, count = _group_stats(r, valid, inv, k, False)
    adv = r - mean
    return torch.where(valid & (count > 1), adv, torch.zeros_like(adv))


def ema_grpo(
    rewards: Any,
    group_ids: Any,
    tasks: Sequence[str],
    *,
    data_types: Sequence[str | None] | None = None,
    normalizer: EMARewardNormalizer,
) -> Any:
    """Torch twin of :func:`unireward.advantage.ema_grpo`; the tracker advances one step.

    The reference computes EMA-GRPO's reductions in float32 on the CPU, so the rewards are
    brought to the CPU, scored by the one implementation in
    :func:`unireward.advantage.ema_grpo`, and the float32 advantages returned on the
    rewards' device.
    """
    if not isinstance(normalizer, EMARewardNormalizer):
        raise ConfigurationError("ema_grpo needs normalizer=EMARewardNormalizer(...)")
    if isinstance(rewards, torch.Tensor):
        device = rewards.device
        if rewards.ndim != 1:
            raise ConfigurationError(
                f"rewards must be a flat tensor, got shape {tuple(rewards.shape)}"
            )
        host: Any = rewards.detach().to(device="cpu", dtype=torch.float64).numpy()
    else:
        device = torch.device("cpu")
        host = (
            [float("nan") if x is None else x for x in rewards]
            if isinstance(rewards, (list, tuple))
            else rewards
        )
    if isinstance(group_ids, torch.Tensor):
        group_ids = group_ids.detach().cpu().tolist()
    adv = ema_grpo_numpy(host, group_ids, tasks, data_types=data_types, normalizer=normalizer)
    return torch.from_numpy(adv).to(device)
