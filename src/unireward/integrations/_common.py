"""What every trainer adapter shares: option checks, ignored keywords, unscored samples.

A trainer calls a reward function with whatever it has; one bad sample must never stop
the step. The adapters therefore score through ``score_batch(..., errors="record")`` and
report here: samples that could not be scored (an unknown or missing task, an unusable
ground truth, an unexpected failure) are counted, and one warning per batch names the
statuses and the first reason. Bad *options* are different: they raise
:class:`~unireward.errors.ConfigurationError` before any sample is scored.

This module uses absolute imports only (the EasyR1 adapter, which imports it, is loaded by
file path).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from unireward.result import RewardResult

__all__ = [
    "UNSCORED_STATUSES",
    "check_options",
    "polar_client",
    "probe_reward_model",
    "report_unscored",
    "status_counts",
    "warn_ignored_keywords",
]

logger = logging.getLogger("unireward.integrations")

#: Statuses of samples that got no real score (the reward is the recorded fallback value).
UNSCORED_STATUSES = frozenset({"error", "ground_truth_error"})

_WARNED: set[tuple[str, str]] = set()
_WARNED_LOCK = threading.Lock()


def check_options(options: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigurationError` now for options that ``score_batch`` would refuse
    (an unknown name, a bad profile or weight), before any sample is scored."""
    from unireward.api import score_batch

    score_batch([], errors="record", **options)


def warn_ignored_keywords(where: str, names: Iterable[str]) -> None:
    """Log once per process and keyword that ``where`` ignored the keyword ``name``."""
    for name in sorted(names):
        key = (where, name)
        with _WARNED_LOCK:
            if key in _WARNED:
                continue
            _WARNED.add(key)
        logger.warning("%s: ignoring the unknown keyword argument %r (warned once)", where, name)


def status_counts(results: Sequence[RewardResult]) -> dict[str, int]:
    """How many results have each status (``{"ok": 7, "error": 1}``)."""
    return dict(Counter(r.status.value for r in results))


def report_unscored(where: str, results: Sequence[RewardResult]) -> int:
    """Log one warning for the samples of a batch that could not be scored; returns their number."""
    bad = [r for r in results if r.status.value in UNSCORED_STATUSES]
    if bad:
        counts = Counter(r.status.value for r in bad)
        logger.warning(
            "%s: %d of %d samples could not be scored (%s); first reason: %s",
            where, len(bad), len(results),
            ", ".join(f"{k}={v}" for k, v in sorted(counts.items())), bad[0].reason,
        )
    return len(bad)


_CLIENTS: dict[tuple[str, str, int, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def polar_client(
    base_url: str, backend: str = "vllm", tokenizer: Any = None, *, model: str | None = None
) -> Any:
    """One :class:`~unireward.remote.PolarClient` per process, server, backend and tokenizer.

    ``tokenizer`` (a ``transformers`` tokenizer of the reward model, as verl hands it over)
    makes the pair encoding count limits in its tokens; without it, limits are counted in
    characters. The client is created on first use and then reused (it is thread-safe).
    """
    from unireward.remote import PolarClient, PolarEncoder

    key = (str(base_url), str(backend), id(tokenizer), model or "")
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            # with a loaded tokenizer the encoder counts limits in its tokens
            encoder = PolarEncoder(tokenizer=tokenizer)
            extra: dict[str, Any] = {"model": model} if model else {}
            client = _CLIENTS[key] = PolarClient(
                base_url=str(base_url),
                backend=backend,  # type: ignore[arg-type]
                encoder=encoder,
                **extra,
            )
    return client


def probe_reward_model(client: Any) -> None:
    """Score one small pair now: an unreachable or misbehaving reward model is a
    :class:`~unireward.errors.ConfigurationError` at start-up, not a failure mid-training."""
    from unireward.errors import ConfigurationError, RemoteRewardError

    try:
        client.score_pairs(["ping"], ["pong"], ["pong"])
    except RemoteRewardError as exc:
        raise ConfigurationError(
            f"the reward model at {client.base_url} cannot be used: {exc}"
        ) from exc
