"""The server's settings, checked once at construction."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigurationError
from ._labels import EOS_TOKENS

__all__ = ["ServerConfig"]

_MIB = 1 << 20


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """Everything :func:`~unireward.server.create_app` and the runner need.

    Attributes:
        default_task: the task of ``/get_reward`` labels that name none.
        options: scoring options (``profile``, ``format_weight``, ``math_timeout``).
        reward_model: a :class:`~unireward.cli._engines.RewardModelSpec` for open-ended
            answers, or None (ROUGE).
        reward_model_fallback: ``None`` (a failing reward model gives a 502) or ``"rouge"``.
        api_key: the bearer token every request but ``GET /health`` must carry, or None.
        max_body: the largest request body in bytes (413 beyond).
        max_records: the most records (or samples) per request (413 beyond).
        max_parse_bytes: the most memory a body may take once parsed, estimated from the raw
            bytes before parsing (413 beyond): ``2 * len(body)`` plus 64 bytes per ``{``
            or ``[`` and 40 per ``,``.
        max_response: the largest response body in bytes (413 beyond).
        max_concurrency: requests admitted at once (reading, waiting or scoring); beyond, 503
            with ``Retry-After``.
        max_inflight_bytes: the sum of admitted bodies (``Content-Length``, or ``max_body``
            for a chunked body); beyond, 503 with ``Retry-After``.
        request_timeout: seconds from a request's arrival to its answer, body, queue and
            scoring included; rows not scored by then get status ``deadline``.
        body_timeout: seconds to receive a body (408 beyond).
        header_timeout: seconds to receive a request line and headers (408 beyond).
        keep_alive: seconds an idle keep-alive connection stays open.
        max_header_bytes: the largest request line plus headers (431 beyond).
        backlog: the listen backlog.
        grace: seconds a stopping server waits for in-flight requests.
        rules_threads: threads scoring rule-based records (one is enough: they hold the GIL).
        math_threads: threads handing math items to worker processes (None: the math pool's
            size, so no thread waits for a worker).
        remote_threads: threads waiting on the reward model.
        chunk: rule-scored records per unit of work (a turn in the round robin).
        retry_after: the ``Retry-After`` seconds of a 503.
        eos_tokens: markers removed from the end of an OpenRLHF response (see
            :func:`~unireward.server.response_of`).
    """

    default_task: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    reward_model: Any = None
    reward_model_fallback: str | None = None
    api_key: str | None = None
    max_body: int = 64 * _MIB
    max_records: int = 65536
    max_parse_bytes: int = 384 * _MIB
    max_response: int = 256 * _MIB
    max_concurrency: int = 2048
    max_inflight_bytes: int = 1024 * _MIB
    request_timeout: float = 120.0
    body_timeout: float = 60.0
    header_timeout: float = 10.0
    keep_alive: float = 5.0
    max_header_bytes: int = 16384
    backlog: int = 2048
    grace: float = 30.0
    rules_threads: int = 1
    math_threads: int | None = None
    remote_threads: int = 4
    chunk: int = 64
    retry_after: int = 1
    eos_tokens: tuple[str, ...] = EOS_TOKENS

    def __post_init__(self) -> None:
        from ..tasks.base import ScoreOptions

        ScoreOptions(**self.options)  # raises ConfigurationError naming the option
        for name in (
            "max_body",
            "max_records",
            "max_parse_bytes",
            "max_response",
            "max_concurrency",
            "max_inflight_bytes",
            "max_header_bytes",
            "backlog",
            "rules_threads",
            "remote_threads",
            "chunk",
            "retry_after",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")
        if self.math_threads is not None and (
            not isinstance(self.math_threads, int) or self.math_threads < 1
        ):
            raise ConfigurationError(
                f"math_threads must be a positive integer or None, got {self.math_threads!r}"
            )
        for name in ("request_timeout", "body_timeout", "header_timeout", "keep_alive", "grace"):
            value = getattr(self, name)
            if (
                not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
                or value > 86400
            ):
                raise ConfigurationError(
                    f"{name} must be a number of seconds in (0, 86400], got {value!r}"
                )
        if self.max_inflight_bytes < self.max_body:
            raise ConfigurationError("max_inflight_bytes must be at least max_body")
        if self.reward_model_fallback not in (None, "rouge"):
            raise ConfigurationError(
                f"reward_model_fallback must be None or 'rouge', got {self.reward_model_fallback!r}"
            )
        if not isinstance(self.eos_tokens, tuple) or not all(
            isinstance(t, str) and t for t in self.eos_tokens
        ):
            raise ConfigurationError("eos_tokens must be a tuple of non-empty strings")
        if self.api_key is not None and (
            not isinstance(self.api_key, str)
            or not self.api_key.strip()
            or not self.api_key.isascii()
        ):
            raise ConfigurationError("api_key must be a non-empty ASCII string")
