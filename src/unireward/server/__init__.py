"""The reward server behind ``unireward serve`` (needs ``unireward[server]``).

An ASGI application on Starlette served by uvicorn: OpenRLHF's ``POST /get_reward``,
``POST /score``, ``GET /health`` and ``GET /metrics``; request limits, deadlines that count
queue time, math work shared fairly between requests, bearer-token authentication and a
graceful drain on SIGTERM. See docs/cli.md.

>>> from unireward.server import ServerConfig
>>> ServerConfig(request_timeout=float("inf"))  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
unireward.errors.ConfigurationError: request_timeout must be a number of seconds in
(0, 86400], got inf
"""

from __future__ import annotations

from ..errors import missing_extra

for _package in ("uvicorn", "starlette", "prometheus_client"):
    try:
        __import__(_package)
    except ImportError as _exc:
        raise missing_extra(_package.replace("_", "-"), "server") from _exc

from ._app import create_app  # noqa: E402
from ._config import ServerConfig  # noqa: E402
from ._labels import EOS_TOKENS, labels_to_records, response_of  # noqa: E402
from ._run import bind, is_loopback, run, serve_in_thread  # noqa: E402

__all__ = ["EOS_TOKENS", "ServerConfig", "bind", "create_app", "is_loopback", "labels_to_records",
           "response_of", "run", "serve_in_thread"]
