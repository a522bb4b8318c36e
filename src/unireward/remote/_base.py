"""What the sync and async POLAR clients share: options, wire format, errors, retries, stats.

Every lower-level failure becomes one error of the :class:`~unireward.errors.RemoteRewardError`
tree, carrying a :class:`RequestInfo`:

========================================  ==========================  =========
failure                                   error                       retried
========================================  ==========================  =========
``httpx.TimeoutException`` (any phase)    ``RemoteTimeoutError``      yes
``httpx.NetworkError``, dropped or        ``RemoteConnectionError``   yes
refused connection, proxy failure
HTTP 5xx                                  ``RemoteStatusError``       yes
HTTP 1xx/3xx/4xx                          ``RemoteStatusError``       no
bad JSON, wrong shape or count,           ``RemoteProtocolError``     no
non-finite score, bad content encoding
========================================  ==========================  =========
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import httpx

from ..errors import (
    ConfigurationError,
    RemoteConnectionError,
    RemoteProtocolError,
    RemoteRewardError,
    RemoteStatusError,
    RemoteTimeoutError,
)
from ._config import (  # noqa: F401 (the checks, kept importable from here)
    BACKENDS,
    Backend,
    ClientConfig,
    PolarConfig,
    _check_int,
    _check_seconds,
    _normalize_base_url,
)
from ._encoding import PolarEncoder

__all__ = ["BACKENDS", "Backend", "ClientStats", "RequestInfo"]

_T = TypeVar("_T")

_ENDPOINT = {"vllm": "/pooling", "lmdeploy": "/pooling", "sglang": "/classify"}
_INPUT_KEY = {"vllm": "input", "lmdeploy": "input", "sglang": "text"}


@dataclasses.dataclass(frozen=True, slots=True)
class RequestInfo:
    """What a failed request was (carried by every remote error as ``error.request``).

    Attributes:
        method: the HTTP method (``"POST"``).
        url: the full URL.
        backend: ``"vllm"``, ``"lmdeploy"`` or ``"sglang"``.
        n_texts: how many texts the request carried.
        attempts: how many times it was sent before giving up.
    """

    method: str
    url: str
    backend: str
    n_texts: int
    attempts: int = 1


@dataclasses.dataclass(frozen=True, slots=True)
class ClientStats:
    """A snapshot of a client's counters (``client.stats``).

    Attributes:
        requests: HTTP requests sent, retries included.
        retries: requests that were repeats of a failed one.
        texts_scored: texts that got a score from the server.
        failed_batches: batches that still failed after the retries.
        fallback_samples: samples scored by the fallback (ROUGE) instead of the model.
    """

    requests: int = 0
    retries: int = 0
    texts_scored: int = 0
    failed_batches: int = 0
    fallback_samples: int = 0


class _Counters:
    """Thread-safe counters behind :class:`ClientStats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = {f.name: 0 for f in dataclasses.fields(ClientStats)}

    def add(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                self._values[name] += delta

    def reset(self) -> None:
        with self._lock:
            for name in self._values:
                self._values[name] = 0

    def snapshot(self) -> ClientStats:
        with self._lock:
            return ClientStats(**self._values)


def _number(value: Any, where: str, info: RequestInfo) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RemoteProtocolError(
            f"{where}: expected a number, got {type(value).__name__}", request=info)
    score = float(value)
    if not math.isfinite(score):
        raise RemoteProtocolError(f"{where}: the score is not finite ({value!r})", request=info)
    return score


def _pooling_score(data: Any, where: str, info: RequestInfo) -> float:
    """Score of one /pooling item's ``data``: ``[[..], .., [s, ..]]`` -> s, ``[.., s]`` -> s,
    ``s`` -> s (vLLM gives per-token rows; LMDeploy may give the scalar)."""
    if isinstance(data, list):
        if not data:
            raise RemoteProtocolError(f"{where}: empty 'data'", request=info)
        last = data[-1]
        if isinstance(last, list):
            if not last:
                raise RemoteProtocolError(f"{where}: empty last row in 'data'", request=info)
            return _number(last[0], where, info)
        return _number(last, where, info)
    return _number(data, where, info)


def _embedding_score(emb: Any, where: str, info: RequestInfo) -> float:
    if isinstance(emb, list):
        if not emb:
            raise RemoteProtocolError(f"{where}: empty 'embedding'", request=info)
        return _number(emb[0], where, info)
    return _number(emb, where, info)


def _parse_scores(backend: str, body: Any, n: int, info: RequestInfo) -> list[float]:
    """Read ``n`` scores out of a decoded JSON answer, checking the shape on the way."""
    if backend == "sglang":
        items = body
        if not isinstance(items, list):
            raise RemoteProtocolError(
                f"expected a JSON list from /classify, got {type(body).__name__}", request=info)
    else:
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise RemoteProtocolError(
                "expected a JSON object with a 'data' list from /pooling", request=info)
        items = body["data"]
    if len(items) != n:
        raise RemoteProtocolError(
            f"sent {n} texts but got {len(items)} scores", request=info)
    key = "embedding" if backend == "sglang" else "data"
    scores = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or key not in item:
            raise RemoteProtocolError(f"item {i}: expected an object with {key!r}", request=info)
        where = f"item {i}"
        if backend == "sglang":
            scores.append(_embedding_score(item[key], where, info))
        else:
            scores.append(_pooling_score(item[key], where, info))
    return scores


def _map_transport_error(exc: httpx.HTTPError, info: RequestInfo) -> RemoteRewardError:
    """The remote error for an exception httpx raised while sending or receiving."""
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return RemoteTimeoutError(f"{info.method} {info.url} timed out ({name}: {exc})",
                                  request=info)
    if isinstance(exc, (httpx.DecodingError, httpx.TooManyRedirects)):
        return RemoteProtocolError(f"{info.method} {info.url}: {name}: {exc}", request=info)
    # NetworkError (connect/read/write/close), RemoteProtocolError and LocalProtocolError
    # (dropped or garbled connection), ProxyError, UnsupportedProtocol, anything else.
    return RemoteConnectionError(f"{info.method} {info.url} failed ({name}: {exc})",
                                 request=info)


def _retryable(err: RemoteRewardError) -> bool:
    if isinstance(err, (RemoteConnectionError, RemoteTimeoutError)):
        return True
    return isinstance(err, RemoteStatusError) and 500 <= err.status_code <= 599



def json_body(response: httpx.Response, info: RequestInfo) -> Any:
    """The decoded JSON of a 2xx response, or the error the response amounts to."""
    status = response.status_code
    if not 200 <= status <= 299:
        snippet = response.text[:200] if response.content else ""
        raise RemoteStatusError(
            f"{info.method} {info.url} answered HTTP {status}"
            + (f": {snippet}" if snippet else ""),
            status_code=status, request=info)
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RemoteProtocolError(
            f"{info.method} {info.url} answered with invalid JSON: {exc}", request=info
        ) from exc


def _option(name: str, doc: str, *, settable: bool = False) -> Any:
    """A client attribute that reads ``client.config.<name>``; a settable one replaces the
    client's configuration by a copy with the new value (checked like the original).

    Only options read per request are settable; those fixed in the connection pool when the
    client was made (the URL, timeouts, headers, proxies, pool size) are read-only."""

    def get(self: Any) -> Any:
        return getattr(self.config, name)

    def set_(self: Any, value: Any) -> None:
        self.config = dataclasses.replace(self.config, **{name: value})

    return property(get, set_ if settable else None, doc=doc)


class _CountedEndpoint:
    """What every HTTP scoring client shows: its endpoint and its counters."""

    _url: str
    _counters: _Counters

    @property
    def url(self) -> str:
        """The endpoint the requests are POSTed to (``/pooling`` or ``/classify`` for POLAR)."""
        return self._url

    @property
    def stats(self) -> ClientStats:
        """A snapshot of this client's counters."""
        return self._counters.snapshot()

    def reset_stats(self) -> None:
        """Set every counter back to 0."""
        self._counters.reset()

    def count_fallback(self, n: int) -> None:
        """Add ``n`` to ``stats.fallback_samples``: for a caller that gave ``n`` samples a
        fallback score because this client's batch failed."""
        self._counters.add(fallback_samples=_check_int("n", n, 0))


class _RetryingEndpoint(_CountedEndpoint):
    """A client whose options are a :class:`ClientConfig`: the options as attributes (see
    :func:`_option`), and the retry loop (sync and async) around one POST."""

    config: ClientConfig
    _default_concurrency = 8

    def _start(self, config: ClientConfig, path: str) -> None:
        self.config = config
        self._url = config.base_url + path
        self._counters = _Counters()
        self._rng = random.Random()

    base_url = _option("base_url", "The server, normalised.")
    batch_size = _option("batch_size", "Items per request.", settable=True)
    max_retries = _option("max_retries", "Extra attempts after the first.", settable=True)
    backoff = _option("backoff", "The first retry delay in seconds.", settable=True)
    backoff_max = _option("backoff_max", "The longest retry delay in seconds.", settable=True)
    trust_env = _option("trust_env", "Whether proxies are read from the environment.")

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeout of each request phase."""
        return self.config.httpx_timeout

    @property
    def max_concurrency(self) -> int:
        """The most requests in flight at once (also the connection pool's size)."""
        return self.config.concurrency(self._default_concurrency)

    def _limits(self) -> httpx.Limits:
        n = self.max_concurrency
        return httpx.Limits(max_connections=n, max_keepalive_connections=n)

    def _info(self, n: int, backend: str) -> RequestInfo:
        return RequestInfo(method="POST", url=self._url, backend=backend, n_texts=n)

    def _delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based): exponential, capped,
        with jitter (a uniform factor in [0.5, 1])."""
        cfg = self.config
        base = min(cfg.backoff_max, cfg.backoff * (2.0 ** (attempt - 1)))
        return base * (0.5 + 0.5 * self._rng.random())

    def _give_up(self, err: RemoteRewardError, info: RequestInfo, attempt: int) -> bool:
        """Stamp the attempt count on ``err`` and say whether to stop retrying."""
        err.request = dataclasses.replace(info, attempts=attempt)
        if attempt > self.config.max_retries or not _retryable(err):
            self._counters.add(failed_batches=1)
            return True
        self._counters.add(retries=1)
        return False

    def _wait_or_raise(self, err: RemoteRewardError, info: RequestInfo, attempt: int) -> float:
        """The seconds to wait before sending again after ``err``, or ``err`` raised when
        the retries are over or it is not worth a retry (call inside the ``except``)."""
        if self._give_up(err, info, attempt):
            raise err
        return self._delay(attempt)

    @contextlib.contextmanager
    def _sending(self, info: RequestInfo) -> Iterator[None]:
        """Count a request and turn what httpx raises while sending into our error."""
        self._counters.add(requests=1)
        try:
            yield
        except httpx.HTTPError as exc:
            raise _map_transport_error(exc, info) from exc

    def _received(self, response: httpx.Response, info: RequestInfo,
                  read: Callable[[httpx.Response, RequestInfo], _T]) -> _T:
        result = read(response, info)
        self._counters.add(texts_scored=info.n_texts)
        return result

    def _post_sync(self, http: httpx.Client, payload: Any, info: RequestInfo,
                   read: Callable[[httpx.Response, RequestInfo], _T]) -> _T:
        """POST ``payload`` until it is read, retrying as the configuration says."""
        for attempt in itertools.count(1):
            try:
                with self._sending(info):
                    response = http.post(self._url, json=payload)
                return self._received(response, info, read)
            except RemoteRewardError as err:
                wait = self._wait_or_raise(err, info, attempt)
            time.sleep(wait)
        raise AssertionError("unreachable")

    async def _post_async(self, http: httpx.AsyncClient, payload: Any, info: RequestInfo,
                          read: Callable[[httpx.Response, RequestInfo], _T],
                          slots: asyncio.Semaphore) -> _T:
        """The asyncio twin of :meth:`_post_sync` (one of ``slots`` held while sending)."""
        for attempt in itertools.count(1):
            try:
                async with slots:
                    with self._sending(info):
                        response = await http.post(self._url, json=payload)
                return self._received(response, info, read)
            except RemoteRewardError as err:
                wait = self._wait_or_raise(err, info, attempt)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")


def _make_encoder(encoder: object, tokenizer_path: str | None, tokenizer: Any) -> PolarEncoder:
    given = [name for name, value in (("encoder", encoder), ("tokenizer_path", tokenizer_path),
                                      ("tokenizer", tokenizer)) if value is not None]
    if len(given) > 1:
        raise ConfigurationError(f"give one of encoder, tokenizer_path and tokenizer, not {given}")
    if encoder is None:
        return PolarEncoder(tokenizer_path=tokenizer_path, tokenizer=tokenizer)
    if not isinstance(encoder, PolarEncoder):
        raise ConfigurationError(f"encoder must be a PolarEncoder, got {type(encoder).__name__}")
    return encoder


class _PolarBase(_RetryingEndpoint):
    """Options and logic shared by :class:`PolarClient` and :class:`AsyncPolarClient`."""

    config: PolarConfig

    def __init__(self, config: PolarConfig, *, encoder: PolarEncoder | None = None,
                 tokenizer_path: str | None = None, tokenizer: Any = None) -> None:
        self.encoder = _make_encoder(encoder, tokenizer_path, tokenizer)
        self._start(config, _ENDPOINT[config.backend])
        self._input_key = _INPUT_KEY[config.backend]

    backend = _option("backend", "The server kind.")
    model = _option("model", "The served model's name.", settable=True)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(base_url={self.base_url!r}, backend={self.backend!r}, "
                f"model={self.model!r}, batch_size={self.batch_size})")

    def encode_pairs(self, prompts: Sequence[str], references: Sequence[str],
                     outputs: Sequence[str]) -> list[str]:
        """The POLAR input strings this client would send for these triples."""
        return self.encoder.encode_batch(prompts, references, outputs)

    # -- pieces used by both clients -------------------------------------------------------

    def _check_texts(self, texts: Sequence[str]) -> list[str]:
        if isinstance(texts, str):
            raise ConfigurationError("texts must be a sequence of str, not a single str")
        out = list(texts)
        for i, t in enumerate(out):
            if not isinstance(t, str):
                raise ConfigurationError(f"texts[{i}] must be a str, got {type(t).__name__}")
        return out

    def _chunks(self, texts: list[str]) -> list[list[str]]:
        b = self.batch_size
        return [texts[i:i + b] for i in range(0, len(texts), b)]

    def _payload(self, texts: list[str]) -> dict[str, Any]:
        return {"model": self.model, self._input_key: texts}

    def _read(self, response: httpx.Response, info: RequestInfo) -> list[float]:
        """Scores from a received response, or the error it amounts to."""
        return _parse_scores(self.backend, json_body(response, info), info.n_texts, info)
