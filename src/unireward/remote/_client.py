"""POLAR reward-model clients over httpx: :class:`PolarClient` and :class:`AsyncPolarClient`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from types import TracebackType

import httpx

from ..errors import ConfigurationError, RemoteRewardError
from ._base import Backend, _map_transport_error, _PolarBase
from ._encoding import PolarEncoder

__all__ = ["AsyncPolarClient", "PolarClient"]

_ChunkResult = list[float] | RemoteRewardError


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
        max_connections: the size of the connection pool.
        transport: an ``httpx.BaseTransport`` to send requests through (tests, custom I/O).

    Raises:
        ConfigurationError: an invalid option.

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

    def __init__(
        self,
        *,
        base_url: str,
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
        max_connections: int = 4,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url=base_url, backend=backend, model=model,
                         batch_size=batch_size, timeout=timeout, max_retries=max_retries,
                         backoff=backoff, backoff_max=backoff_max, encoder=encoder,
                         tokenizer_path=tokenizer_path, headers=headers, trust_env=trust_env)
        if transport is not None and not isinstance(transport, httpx.BaseTransport):
            raise ConfigurationError("transport must be an httpx.BaseTransport")
        limits = httpx.Limits(max_connections=max_connections,
                              max_keepalive_connections=max_connections)
        self._http = httpx.Client(timeout=self.timeout, headers=self._headers,
                                  trust_env=self.trust_env, limits=limits,
                                  transport=transport, follow_redirects=False)

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
        return _flatten(self._score_chunks(self._check_texts(texts), stop_on_error=True))

    def score_pairs(self, prompts: Sequence[str], references: Sequence[str],
                    outputs: Sequence[str]) -> list[float]:
        """Raw scores for (prompt, reference, output) triples, encoded as POLAR pairs.

        Raises:
            RemoteRewardError: a batch still failed after the retries.
            ConfigurationError: the sequences differ in length.
        """
        return self.score_texts(self.encode_pairs(prompts, references, outputs))

    def _score_chunks(self, texts: list[str], *, stop_on_error: bool) -> list[_ChunkResult]:
        """Score each batch; a failed batch yields its error instead of scores."""
        results: list[_ChunkResult] = []
        for chunk in self._chunks(texts):
            try:
                results.append(self._post(chunk))
            except RemoteRewardError as err:
                results.append(err)
                if stop_on_error:
                    break
        return results

    def _post(self, texts: list[str]) -> list[float]:
        info = self._info(len(texts))
        payload = self._payload(texts)
        attempt = 0
        while True:
            attempt += 1
            self._counters.add(requests=1)
            try:
                response = self._http.post(self._url, json=payload)
            except httpx.HTTPError as exc:
                err = _map_transport_error(exc, info)
                cause: BaseException = exc
            else:
                try:
                    scores = self._read(response, len(texts), info)
                except RemoteRewardError as exc:
                    err, cause = exc, exc
                else:
                    self._counters.add(texts_scored=len(scores))
                    return scores
            if self._give_up(err, info, attempt):
                if err is not cause:
                    raise err from cause
                raise err
            time.sleep(self._delay(attempt))


class AsyncPolarClient(_PolarBase):
    """The asyncio twin of :class:`PolarClient`; batches of one call run concurrently.

    Takes the same options as :class:`PolarClient`, plus ``max_concurrency`` (the most
    requests this client keeps in flight at once, 8 by default; also the pool size), and an
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
        base_url: str,
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
        max_concurrency: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url=base_url, backend=backend, model=model,
                         batch_size=batch_size, timeout=timeout, max_retries=max_retries,
                         backoff=backoff, backoff_max=backoff_max, encoder=encoder,
                         tokenizer_path=tokenizer_path, headers=headers, trust_env=trust_env)
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or (
                max_concurrency < 1):
            raise ConfigurationError(
                f"max_concurrency must be an int >= 1, got {max_concurrency!r}")
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise ConfigurationError("transport must be an httpx.AsyncBaseTransport")
        self.max_concurrency = max_concurrency
        self._slots = asyncio.Semaphore(max_concurrency)
        limits = httpx.Limits(max_connections=max_concurrency,
                              max_keepalive_connections=max_concurrency)
        self._http = httpx.AsyncClient(timeout=self.timeout, headers=self._headers,
                                       trust_env=self.trust_env, limits=limits,
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
        return _flatten(await self._score_chunks(self._check_texts(texts)))

    async def score_pairs(self, prompts: Sequence[str], references: Sequence[str],
                          outputs: Sequence[str]) -> list[float]:
        """Raw scores for (prompt, reference, output) triples, encoded as POLAR pairs."""
        return await self.score_texts(self.encode_pairs(prompts, references, outputs))

    async def _score_chunks(self, texts: list[str]) -> list[_ChunkResult]:
        """Score every batch concurrently; a failed batch yields its error."""
        outcomes = await asyncio.gather(*(self._post(c) for c in self._chunks(texts)),
                                        return_exceptions=True)
        results: list[_ChunkResult] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, RemoteRewardError):
                raise outcome
            results.append(outcome)
        return results

    async def _post(self, texts: list[str]) -> list[float]:
        info = self._info(len(texts))
        payload = self._payload(texts)
        attempt = 0
        while True:
            attempt += 1
            self._counters.add(requests=1)
            async with self._slots:
                try:
                    response = await self._http.post(self._url, json=payload)
                except httpx.HTTPError as exc:
                    err = _map_transport_error(exc, info)
                    cause: BaseException = exc
                else:
                    try:
                        scores = self._read(response, len(texts), info)
                    except RemoteRewardError as exc:
                        err, cause = exc, exc
                    else:
                        self._counters.add(texts_scored=len(scores))
                        return scores
            if self._give_up(err, info, attempt):
                if err is not cause:
                    raise err from cause
                raise err
            await asyncio.sleep(self._delay(attempt))
