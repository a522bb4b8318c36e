"""Open-ended accuracies from a POLAR reward model, with the reference's mapping and fallback.

>>> import json, httpx
>>> from unireward.remote import PolarClient
>>> def server(request):  # scores 1.5, 3.0, -2.0, 0.5 for the four outputs
...     texts = json.loads(request.content)["input"]
...     table = {"a": 1.5, "b": 3.0, "c": -2.0, "": 0.5}
...     return httpx.Response(200, json={"data": [
...         {"data": [[table[t.split("\\n")[-1].removesuffix("[UNUSED_TOKEN_130]")]]]}
...         for t in texts]})
>>> with PolarClient(base_url="http://rm", transport=httpx.MockTransport(server)) as rm:
...     rows = reward_model_accuracies(rm, prompts=["Q"] * 4, references=["R"] * 4,
...                                    outputs=["a", "b", "c", ""], problem_ids=["p1"] * 4)
>>> [round(a, 6) for a, _, _ in rows], rows[0][1]
([0.7, 1.0, 0.0, 0.5], <Status.OK: 'ok'>)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

from ..errors import ConfigurationError, RemoteRewardError
from ..result import Status
from ._client import AsyncPolarClient, BatchResult, PolarClient
from ._normalize import scores_to_accuracies

__all__ = ["areward_model_accuracies", "reward_model_accuracies"]

Accuracy = tuple[float, Status, "str | None"]

_FALLBACKS = (None, "rouge")


def _check(client: object, expected: type, prompts: Sequence[str], references: Sequence[str],
           outputs: Sequence[str], problem_ids: Sequence[Hashable],
           fallback: str | None, fallback_scores: Sequence[float] | None) -> int:
    if not isinstance(client, expected):
        raise ConfigurationError(
            f"client must be a {expected.__name__}, got {type(client).__name__}")
    n = len(prompts)
    lengths = {"prompts": n, "references": len(references), "outputs": len(outputs),
               "problem_ids": len(problem_ids)}
    if fallback_scores is not None:
        lengths["fallback_scores"] = len(fallback_scores)
    if len(set(lengths.values())) != 1:
        raise ConfigurationError(
            "all sequences must have the same length, got "
            + ", ".join(f"{k}={v}" for k, v in lengths.items()))
    if fallback not in _FALLBACKS:
        raise ConfigurationError(f"fallback must be None or 'rouge', got {fallback!r}")
    if fallback == "rouge" and fallback_scores is None:
        raise ConfigurationError("fallback='rouge' needs fallback_scores (the ROUGE accuracies)")
    return n


def _assemble(client: PolarClient | AsyncPolarClient, chunks: list[BatchResult],
              *, n: int, problem_ids: Sequence[Hashable], normalize_by_problem_id: bool,
              fallback: str | None, fallback_scores: Sequence[float] | None
              ) -> list[Accuracy]:
    """Raw scores (or per-batch errors) -> mapped accuracies with statuses."""
    raw: list[float] = []
    statuses: list[Status] = []
    reasons: list[str | None] = []
    failed_batches = 0
    for result in chunks:
        if not isinstance(result, RemoteRewardError):
            raw.extend(result)
            statuses.extend([Status.OK] * len(result))
            reasons.extend([None] * len(result))
            continue
        if fallback is None:
            raise result
        failed_batches += 1
        size = result.request.n_texts if result.request is not None else client.batch_size
        start = len(raw)
        assert fallback_scores is not None  # checked by _check
        for i in range(start, start + size):
            value = float(fallback_scores[i])
            raw.append(value if math.isfinite(value) else 0.0)
        reason = (f"reward model failed ({type(result).__name__}: {result}); "
                  f"ROUGE score used instead")
        statuses.extend([Status.FALLBACK] * size)
        reasons.extend([reason] * size)
    if len(raw) != n:  # a bug here, never the server's fault
        raise AssertionError(f"assembled {len(raw)} scores for {n} samples")
    if failed_batches:
        client.count_fallback(statuses.count(Status.FALLBACK))
    accuracies = scores_to_accuracies(raw, problem_ids,
                                      normalize_by_problem_id=normalize_by_problem_id)
    return [(float(a), s, r)
            for a, s, r in zip(accuracies.tolist(), statuses, reasons, strict=True)]


def reward_model_accuracies(
    client: PolarClient,
    *,
    prompts: Sequence[str],
    references: Sequence[str],
    outputs: Sequence[str],
    problem_ids: Sequence[str | None],
    normalize_by_problem_id: bool = True,
    fallback: str | None = None,
    fallback_scores: Sequence[float] | None = None,
) -> list[tuple[float, Status, str | None]]:
    """Open-ended accuracies in [0, 1] from a POLAR reward model (the reference's RM path).

    Each (prompt, reference, output) triple is encoded as a POLAR pair, scored in batches of
    ``client.batch_size``, and the raw scores are mapped to [0, 1]: z-score then min-max
    within each ``problem_id`` (samples with ``problem_id=None`` share one group), or, with
    ``normalize_by_problem_id=False``, clipped.

    Failure policy. With ``fallback=None`` a batch that still fails after the client's
    retries raises its :class:`~unireward.errors.RemoteRewardError` (``error.request`` says
    which request). With ``fallback="rouge"`` the samples of that batch take their
    ``fallback_scores`` value instead (status ``FALLBACK``, with the error as the reason,
    counted in ``client.stats.fallback_samples``). As in the reference, those substitute
    values then go through the same mapping as model scores: clipped, or normalised within
    their problem group.

    Args:
        client: an open :class:`PolarClient`.
        prompts: the questions, without media placeholders.
        references: the unwrapped ground truths.
        outputs: the extracted ``<answer>`` texts, ``""`` when a completion has no tags
            (never the think block).
        problem_ids: the group of each sample (the n rollouts of one prompt share one).
        normalize_by_problem_id: per-problem normalisation (True) or clipping (False).
        fallback: ``None`` (raise) or ``"rouge"``.
        fallback_scores: the ROUGE accuracies of the samples, used only for failed batches.

    Returns:
        One ``(accuracy, status, reason)`` per sample, in order; status is ``Status.OK`` (reason
        None) or ``Status.FALLBACK``.

    Raises:
        RemoteRewardError: the server failed and ``fallback`` is None.
        ConfigurationError: sequences of different lengths, an unknown ``fallback``, or
            ``fallback="rouge"`` without ``fallback_scores``.

    The example in this module's docstring shows a call.
    """
    n = _check(client, PolarClient, prompts, references, outputs, problem_ids,
               fallback, fallback_scores)
    if n == 0:
        return []
    texts = client.encode_pairs(prompts, references, outputs)
    chunks = client.score_batches(texts, stop_on_error=fallback is None)
    return _assemble(client, chunks, n=n, problem_ids=problem_ids,
                     normalize_by_problem_id=normalize_by_problem_id,
                     fallback=fallback, fallback_scores=fallback_scores)


async def areward_model_accuracies(
    client: AsyncPolarClient,
    *,
    prompts: Sequence[str],
    references: Sequence[str],
    outputs: Sequence[str],
    problem_ids: Sequence[str | None],
    normalize_by_problem_id: bool = True,
    fallback: str | None = None,
    fallback_scores: Sequence[float] | None = None,
) -> list[tuple[float, Status, str | None]]:
    """The asyncio twin of :func:`reward_model_accuracies` (batches sent concurrently).

    Takes an :class:`AsyncPolarClient`; everything else is as in
    :func:`reward_model_accuracies`.
    """
    n = _check(client, AsyncPolarClient, prompts, references, outputs, problem_ids,
               fallback, fallback_scores)
    if n == 0:
        return []
    texts = client.encode_pairs(prompts, references, outputs)
    chunks = await client.score_batches(texts)
    return _assemble(client, chunks, n=n, problem_ids=problem_ids,
                     normalize_by_problem_id=normalize_by_problem_id,
                     fallback=fallback, fallback_scores=fallback_scores)
