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

import dataclasses
import json
import math
import random
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx

from ..errors import (
    ConfigurationError,
    RemoteConnectionError,
    RemoteProtocolError,
    RemoteRewardError,
    RemoteStatusError,
    RemoteTimeoutError,
)
from ._encoding import PolarEncoder

__all__ = ["BACKENDS", "Backend", "ClientStats", "RequestInfo"]

Backend = Literal["vllm", "lmdeploy", "sglang"]
BACKENDS: tuple[str, ...] = ("vllm", "lmdeploy", "sglang")

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


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value >= 0):
        raise ConfigurationError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


def _normalize_base_url(base_url: str) -> str:
    if not isinstance(base_url, str) or not base_url.strip():
        raise ConfigurationError(f"base_url must be a non-empty str, got {base_url!r}")
    url = base_url.strip()
    if "://" not in url:  # "127.0.0.1:8000", as the reference client takes it
        url = "http://" + url
    try:
        parsed = httpx.URL(url)
    except Exception as exc:  # httpx.InvalidURL and friends
        raise ConfigurationError(f"base_url {base_url!r} is not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    return url.rstrip("/")


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


class _PolarBase(_CountedEndpoint):
    """Options and logic shared by :class:`PolarClient` and :class:`AsyncPolarClient`."""

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
    ) -> None:
        if backend not in BACKENDS:
            raise ConfigurationError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if not isinstance(model, str):
            raise ConfigurationError(f"model must be a str, got {type(model).__name__}")
        if encoder is not None and tokenizer_path is not None:
            raise ConfigurationError("give either encoder or tokenizer_path, not both")
        if encoder is not None and not isinstance(encoder, PolarEncoder):
            raise ConfigurationError(
                f"encoder must be a PolarEncoder, got {type(encoder).__name__}")
        if not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(_check_seconds("timeout", timeout))
        self.base_url = _normalize_base_url(base_url)
        self.backend: str = backend
        self.model = model
        self.batch_size = _check_int("batch_size", batch_size, 1)
        self.timeout = timeout
        self.max_retries = _check_int("max_retries", max_retries, 0)
        self.backoff = _check_seconds("backoff", backoff)
        self.backoff_max = _check_seconds("backoff_max", backoff_max)
        self.encoder = encoder if encoder is not None else PolarEncoder(
            tokenizer_path=tokenizer_path)
        self.trust_env = bool(trust_env)
        self._headers = dict(headers or {})
        self._url = self.base_url + _ENDPOINT[backend]
        self._input_key = _INPUT_KEY[backend]
        self._counters = _Counters()
        self._rng = random.Random()

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

    def _info(self, n: int) -> RequestInfo:
        return RequestInfo(method="POST", url=self._url, backend=self.backend, n_texts=n)

    def _read(self, response: httpx.Response, n: int, info: RequestInfo) -> list[float]:
        """Scores from a received response, or the error it amounts to."""
        status = response.status_code
        if not 200 <= status <= 299:
            snippet = response.text[:200] if response.content else ""
            raise RemoteStatusError(
                f"{info.method} {info.url} answered HTTP {status}"
                + (f": {snippet}" if snippet else ""),
                status_code=status, request=info)
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RemoteProtocolError(
                f"{info.method} {info.url} answered with invalid JSON: {exc}", request=info
            ) from exc
        return _parse_scores(self.backend, body, n, info)

    def _delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based): exponential, capped,
        with jitter (a uniform factor in [0.5, 1])."""
        base = min(self.backoff_max, self.backoff * (2.0 ** (attempt - 1)))
        return base * (0.5 + 0.5 * self._rng.random())

    def _give_up(self, err: RemoteRewardError, info: RequestInfo, attempt: int) -> bool:
        """Stamp the attempt count on ``err`` and say whether to stop retrying."""
        err.request = dataclasses.replace(info, attempts=attempt)
        if attempt > self.max_retries or not _retryable(err):
            self._counters.add(failed_batches=1)
            return True
        self._counters.add(retries=1)
        return False
