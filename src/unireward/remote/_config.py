"""The options of the HTTP scoring clients, each named, defaulted and checked once.

:class:`ClientConfig` holds what every scoring client over HTTP takes (the server, batching,
timeouts, retries, concurrency, headers); :class:`PolarConfig` adds the POLAR server's
backend and model name. A client builds its configuration from its keyword arguments, or
takes a ready one as ``config=``; either way the checks below run once, when the
configuration is made, and the configuration cannot change afterwards.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import httpx

from ..errors import ConfigurationError

__all__ = ["BACKENDS", "Backend", "ClientConfig", "PolarConfig"]

Backend = Literal["vllm", "lmdeploy", "sglang"]
BACKENDS: tuple[str, ...] = ("vllm", "lmdeploy", "sglang")

Headers = Mapping[str, str] | tuple[tuple[str, str], ...]


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value >= 0):
        raise ConfigurationError(
            f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


def _normalize_base_url(base_url: object) -> str:
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
        raise ConfigurationError(
            f"base_url must be an http(s) URL with a host, got {base_url!r}")
    return url.rstrip("/")


def _check_headers(headers: object) -> tuple[tuple[str, str], ...]:
    if headers is None:
        return ()
    try:
        pairs = tuple(dict(headers).items())  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"headers must be a mapping of str to str, got {type(headers).__name__}") from exc
    for key, value in pairs:
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigurationError(
                f"headers must map str to str, got {key!r}: {type(value).__name__}")
    return pairs


def _check_timeout(timeout: object) -> float | httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return _check_seconds("timeout", timeout)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """What every scoring client over HTTP takes (frozen; checked when made).

    Attributes:
        base_url: the server, e.g. ``"http://127.0.0.1:8000"`` (``"host:port"`` means
            http); kept without a trailing slash.
        batch_size: items (texts) per request.
        timeout: seconds (or an ``httpx.Timeout``) for each phase of a request.
        max_retries: extra attempts after the first.
        backoff: the first retry delay in seconds (doubles per retry).
        backoff_max: the longest retry delay in seconds.
        headers: extra HTTP headers (e.g. an ``Authorization`` for a gateway), kept as a
            tuple of ``(name, value)`` pairs; :meth:`header_dict` gives them as a dict.
        trust_env: read proxy settings and certificates from the environment.
        max_concurrency: the most requests in flight at once, which is also the size of
            the connection pool; ``None`` leaves it to the client (see its docstring).

    Raises:
        unireward.errors.ConfigurationError: an invalid value (the message names it).
    """

    base_url: str
    batch_size: int = 64
    timeout: float | httpx.Timeout = 30.0
    max_retries: int = 7
    backoff: float = 0.2
    backoff_max: float = 1.0
    headers: Headers | None = None
    trust_env: bool = False
    max_concurrency: int | None = None

    def __post_init__(self) -> None:
        checked: dict[str, Any] = {
            "base_url": _normalize_base_url(self.base_url),
            "batch_size": _check_int("batch_size", self.batch_size, 1),
            "timeout": _check_timeout(self.timeout),
            "max_retries": _check_int("max_retries", self.max_retries, 0),
            "backoff": _check_seconds("backoff", self.backoff),
            "backoff_max": _check_seconds("backoff_max", self.backoff_max),
            "headers": _check_headers(self.headers),
            "trust_env": bool(self.trust_env),
        }
        if self.max_concurrency is not None:
            _check_int("max_concurrency", self.max_concurrency, 1)
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    @property
    def httpx_timeout(self) -> httpx.Timeout:
        """:attr:`timeout` as an ``httpx.Timeout``."""
        t = self.timeout
        return t if isinstance(t, httpx.Timeout) else httpx.Timeout(t)

    def header_dict(self) -> dict[str, str]:
        """:attr:`headers` as a new dict."""
        return dict(_check_headers(self.headers))

    def concurrency(self, default: int) -> int:
        """:attr:`max_concurrency`, or ``default`` when it is ``None``."""
        return default if self.max_concurrency is None else self.max_concurrency


@dataclasses.dataclass(frozen=True, kw_only=True)
class PolarConfig(ClientConfig):
    """The options of :class:`~unireward.remote.PolarClient` and
    :class:`~unireward.remote.AsyncPolarClient` (frozen; checked when made).

    Besides those of :class:`ClientConfig`:

    Attributes:
        backend: ``"vllm"``, ``"lmdeploy"`` (``POST /pooling``) or ``"sglang"``
            (``POST /classify``).
        model: the served model name sent with each request.

    >>> cfg = PolarConfig(base_url="127.0.0.1:8000", batch_size=32)
    >>> cfg.base_url, cfg.backend, cfg.batch_size, cfg.max_retries
    ('http://127.0.0.1:8000', 'vllm', 32, 7)
    >>> PolarConfig(base_url="http://rm", max_retries=-1)
    Traceback (most recent call last):
    ...
    unireward.errors.ConfigurationError: max_retries must be an int >= 0, got -1
    """

    backend: Backend = "vllm"
    model: str = "internlm/POLAR-7B"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.backend not in BACKENDS:
            raise ConfigurationError(
                f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not isinstance(self.model, str):
            raise ConfigurationError(f"model must be a str, got {type(self.model).__name__}")


def _is_default(field: dataclasses.Field[Any], value: object) -> bool:
    if field.default is dataclasses.MISSING:  # base_url: None stands for "not given"
        return value is None
    return bool(value == field.default)


_Config = TypeVar("_Config", bound=ClientConfig)


def resolve_config(cls: type[_Config], config: object, given: Mapping[str, Any]) -> _Config:
    """The configuration a client runs with: ``config`` when given (then the keyword
    options must be left at their defaults), else one built from ``given``.

    ``given`` maps option names to the values the constructor received; names that are not
    fields of ``cls`` are ignored, so a constructor may pass its ``locals()``.
    """
    fields = [f for f in dataclasses.fields(cls) if f.init]
    if config is None:
        return cls(**{f.name: given[f.name] for f in fields if f.name in given})
    if not isinstance(config, cls):
        raise ConfigurationError(
            f"config must be a {cls.__name__}, got {type(config).__name__}")
    changed = [f.name for f in fields if f.name in given and not _is_default(f, given[f.name])]
    if changed:
        raise ConfigurationError(
            f"give the options either in config or as keywords, not both (got {changed})")
    return config
