"""The reward server behind ``unireward serve`` (needs ``unireward[server]``).

An ASGI application on Starlette served by uvicorn: OpenRLHF's ``POST /get_reward``,
``POST /score``, ``GET /health`` and ``GET /metrics``; request limits, deadlines that count
queue time, math work shared fairly between requests, bearer-token authentication and a
graceful drain on SIGTERM. See docs/cli.md.

>>> from unireward.server import ServerConfig
>>> ServerConfig(request_timeout=float("inf"))
Traceback (most recent call last):
...
unireward.errors.ConfigurationError: request_timeout must be a number of seconds in (0, 86400], got inf
"""

from __future__ import annotations

from ._app import create_app
from ._config import ServerConfig
from ._labels import EOS_TOKENS, labels_to_records, response_of
from ._run import bind, is_loopback, run, serve_in_thread

__all__ = ["EOS_TOKENS", "ServerConfig", "bind", "create_app", "is_loopback", "labels_to_records",
           "response_of", "run", "serve_in_thread"]
