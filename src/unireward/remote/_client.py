"""POLAR reward-model clients over httpx: :class:`PolarClient` and :class:`AsyncPolarClient`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from ..errors import ConfigurationError, RemoteRewardError
from ._base import _PolarBase
from ._config import Backend, PolarConfig, resolve_config
from ._encoding import PolarEncoder

__all__ = ["AsyncPolarClient", "PolarClient"]

_ChunkResult = list[float] | RemoteRewardError
BatchResult = list[float] | RemoteRewardError
"""The scores of one batch, or the error that batch ended with."""


def _first_error(results: Sequence[_ChunkResult]) -> RemoteRewardError | None:
    for r in results:
        if isinstance(r, RemoteRewardError):
            return r
    return None


def _flatten(results: Sequence[_ChunkResult]) -> list[float]:
    err = _first_error(results)
    if err is not None:
        raise err
    return [s for r in results if not isinstance(r, RemoteRewardError) for s in r]


class PolarClient(_PolarBase):
    """A blocking client for a POLAR reward model served by vLLM, LMDeploy or SGLang.

    Texts are sent ``batch_size`` at a time over one pooled connection; a batch that fails
    with a connection error, a timeout or an HTTP 5xx is sent again after an exponential
    backoff with jitter (``backoff * 2**k`` seconds, capped at ``backoff_max``, times a random
    factor in [0.5, 1]), at most ``max_retries`` times. HTTP 4xx and malformed answers are not
    retried. The client is thread-safe.

    Args:
        base_url: the server, e.g. ``"http://127.0.0.1:8000"`` (``"host:port"`` means http).
        backend: ``"vllm"`` and ``"lmdeploy"`` POST ``/pooling`` with
            ``{"model": ..., "input": [...]}``; ``"sglang"`` POSTs ``/classify`` with
            ``{"model": ..., "text": [...]}``.
        model: the served model name sent with each request.
        batch_size: texts per request (64, like the reference).
        timeout: seconds (or an ``httpx.Timeout``) for each phase of a request.
        max_retries: extra attempts after the first (7: eight attempts, like the reference).
        backoff: the first retry delay in seconds (doubles per retry).
        backoff_max: the longest retry delay in seconds (1: a batch that keeps failing
            costs about 4 s of waiting over its 7 retries, besides the timeouts).
        encoder: how pairs are encoded and truncated (default: ``PolarEncoder()``).
        tokenizer_path: shortcut for ``encoder=PolarEncoder(tokenizer_path=...)``.
        headers: extra HTTP headers (e.g. an ``Authorization`` for a gateway).
        trust_env: read proxy settings and certificates from the environment (off by
            default: a training node's ``HTTP_PROXY`` usually must not carry these calls).
        max_connections: the size of the connection pool (4 when not given; stored as
            ``config.max_concurrency``).
        transport: an ``httpx.BaseTransport`` to send requests through (tests, custom I/O).
        config: a :class:`~unireward.remote.PolarConfig` holding the options above from
            ``base_url`` to ``max_connections`` (except the encoder's); the keywords are then
            left out.
        tokenizer: shortcut for ``encoder=PolarEncoder(tokenizer=...)`` (an already loaded
            tokenizer).

    The options are read back as attributes (``client.batch_size``, ...) and as
    ``client.config``; they cannot be changed on a client.

    Raises:
        ConfigurationError: an invalid option (the same checks for both clients), or options
            given both in ``config`` and as keywords.

    Example (``transport`` stands in for a server here):

    >>> import json, httpx
    >>> def server(request):
    ...     texts = json.loads(request.content)["input"]
    ...     return httpx.Response(200, json={"data": [{"data": [[0.1], [len(t) / 10]]}
    ...                                               for t in texts]})
    >>> with PolarClient(base_url="http://rm:8000", transport=httpx.MockTransport(server)) as rm:
    ...     rm.score_texts(["abc", "abcdef"]), rm.stats.requests
    ([0.3, 0.6], 1)
    """

    _default_concurrency = 4

    def __init__(
        self,
        *,
        base_url: str | None = None,
        backend: Backend = "vllm",
        model: str = "internlm/POLAR-7B",
        batch_size: int = 64,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 7,
        backoff: float = 0.2,
        backoff_max: float = 1.0,
        encoder: PolarEncoder | None = None,
        tokenizer_path: str | None = None,
        headers: Mapping[str, str] | None = None,
        trust_env: bool = False,
        max_connections: int | None = None,
        transport: httpx.BaseTransport | None = None,
        config: PolarConfig | None = None,
        tokenizer: Any = None,
    ) -> None:
        options = dict(locals(), max_concurrency=max_connections)
        super().__init__(resolve_config(PolarConfig, config, options), encoder=encoder,
                         tokenizer_path=tokenizer_path, tokenizer=tokenizer)
        if transport is not None and not isinstance(transport, httpx.BaseTransport):
            raise ConfigurationError("transport must be an httpx.BaseTransport")
        self._http = httpx.Client(timeout=self.timeout, headers=self.config.header_dict(),
                                  trust_env=self.trust_env, limits=self._limits(),
                                  transport=transport, follow_redirects=False)

    @property
    def max_connections(self) -> int:
        """The size of the connection pool (``config.max_concurrency``, 4 by default)."""
        return self.max_concurrency

    def __enter__(self) -> PolarClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def score_texts(self, texts: Sequence[str]) -> list[float]:
        """Raw scores for already encoded texts, one per text, in order.

        Raises:
            RemoteRewardError: a batch still failed after the retries (the first failure).
        """
        return _flatten(self.score_batches(texts, stop_on_error=True))

    def score_pairs(self, prompts: Sequence[str], references: Sequence[str],
                    outputs: Sequence[str]) -> list[float]:
        """Raw scores for (prompt, reference, output) triples, encoded as POLAR pairs.

        Raises:
            RemoteRewardError: a batch still failed after the retries.
            ConfigurationError: the sequences differ in length.
        """
        return self.score_texts(self.encode_pairs(prompts, references, outputs))

    def score_batches(self, texts: Sequence[str], *,
                      stop_on_error: bool = False) -> list[BatchResult]:
        """Score already encoded texts batch by batch, keeping each batch's failure.

        Returns:
            One entry per batch of ``batch_size`` texts, in order: its scores, or the
            :class:`~unireward.errors.RemoteRewardError` it still failed with after the
            retries (``error.request.n_texts`` is its size). With ``stop_on_error`` the
            batches after the first failed one are not sent (and not listed).
        """
        results: list[BatchResult] = []
        for chunk in self._chunks(self._check_texts(texts)):
            try:
                results.append(self._post(chunk))
            except RemoteRewardError as err:
                results.append(err)
                if stop_on_error:
                    break
        return results

    def _score_chunks(self, texts: list[str], *, stop_on_error: bool) -> list[_ChunkResult]:
        """The former name of :meth:`score_batches`."""
        return self.score_batches(texts, stop_on_error=stop_on_error)

    def _post(self, texts: list[str]) -> list[float]:
        info = self._info(len(texts), self.backend)
        return self._post_sync(self._http, self._payload(texts), info, self._read)


class AsyncPolarClient(_PolarBase):
    """The asyncio twin of :class:`PolarClient`; batches of one call run concurrently.

    Takes the same options as :class:`PolarClient` (``config`` included), with
    ``max_concurrency`` (the most requests this client keeps in flight at once, 8 when not
    given; also the pool size) instead of ``max_connections``, and an
    ``httpx.AsyncBaseTransport`` as ``transport``. Use one client per event loop.

    >>> import asyncio, json, httpx
    >>> def server(request):
    ...     texts = json.loads(request.content)["text"]
    ...     return httpx.Response(200, json=[{"embedding": [float(len(t))]} for t in texts])
    >>> async def main():
    ...     async with AsyncPolarClient(base_url="http://rm:30000", backend="sglang",
    ...                                 batch_size=2,
    ...                                 transport=httpx.MockTransport(server)) as rm:
    ...         return await rm.score_texts(["a", "bb", "ccc"]), rm.stats.requests
    >>> asyncio.run(main())
    ([1.0, 2.0, 3.0], 2)
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        backend: Backend = "vllm",
        model: str = "internlm/POLAR-7B",
        batch_size: int = 64,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 7,
        backoff: float = 0.2,
        backoff_max: float = 1.0,
        encoder: PolarEncoder | None = None,
        tokenizer_path: str | None = None,
        headers: Mapping[str, str] | None = None,
        trust_env: bool = False,
        max_concurrency: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        config: PolarConfig | None = None,
        tokenizer: Any = None,
    ) -> None:
        super().__init__(resolve_config(PolarConfig, config, locals()), encoder=encoder,
                         tokenizer_path=tokenizer_path, tokenizer=tokenizer)
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise ConfigurationError("transport must be an httpx.AsyncBaseTransport")
        self._slots = asyncio.Semaphore(self.max_concurrency)
        self._http = httpx.AsyncClient(timeout=self.timeout, headers=self.config.header_dict(),
                                       trust_env=self.trust_env, limits=self._limits(),
                                       transport=transport, follow_redirects=False)

    async def __aenter__(self) -> AsyncPolarClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def score_texts(self, texts: Sequence[str]) -> list[float]:
        """Raw scores for already encoded texts (batches sent concurrently).

        Raises:
            RemoteRewardError: a batch still failed after the retries (the first in order).
        """
        return _flatten(await self.score_batches(texts))

    async def score_pairs(self, prompts: Sequence[str], references: Sequence[str],
                          outputs: Sequence[str]) -> list[float]:
        """Raw scores for (prompt, reference, output) triples, encoded as POLAR pairs."""
        return await self.score_texts(self.encode_pairs(prompts, references, outputs))

    async def score_batches(self, texts: Sequence[str]) -> list[BatchResult]:
        """Score already encoded texts, all batches concurrently, keeping each batch's
        failure: one entry per batch, in order, its scores or its
        :class:`~unireward.errors.RemoteRewardError` (as :meth:`PolarClient.score_batches`)."""
        outcomes = await asyncio.gather(
            *(self._post(c) for c in self._chunks(self._check_texts(texts))),
            return_exceptions=True)
        results: list[BatchResult] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, RemoteRewardError):
                raise outcome
            results.append(outcome)
        return results

    async def _score_chunks(self, texts: list[str]) -> list[_ChunkResult]:
        """The former name of :meth:`score_batches`."""
        return await self.score_batches(texts)

    async def _post(self, texts: list[str]) -> list[float]:
        info = self._info(len(texts), self.backend)
        return await self._post_async(self._http, self._payload(texts), info, self._read,
                                      self._slots)
