"""Binding the socket and running uvicorn: in the foreground (the command line) or in a
thread (tests, notebooks)."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from ..errors import ConfigurationError
from ._app import create_app
from ._config import ServerConfig
from ._protocol import ServerProtocol

__all__ = ["bind", "is_loopback", "run", "serve_in_thread"]

log = logging.getLogger("unireward.server")


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback address.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addrs = {str(info[4][0]) for info in infos}
    return bool(addrs) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)


def bind(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port=0``: a free one).

    Raises:
        ConfigurationError: a port outside 0-65535.
        OSError: the address cannot be resolved or bound (busy port, unknown host).
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(f"port must be 0-65535, got {port!r}")
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    # the protocol number matters: asyncio turns Nagle off only on sockets marked as TCP, and
    # with Nagle on, a reply written in two pieces waits ~40 ms for the client's delayed ACK
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _Config(uvicorn.Config):
    """uvicorn's settings plus the header deadline read by :class:`ServerProtocol`."""

    def __init__(self, app: Any, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.header_timeout = header_timeout


def _uvicorn_server(config: ServerConfig, *, access_log: bool,
                    on_ready: Callable[[], None] | None = None, app: Any = None) -> uvicorn.Server:
    if app is None:
        app = create_app(config, on_ready=on_ready)
    ucfg = _Config(
        app,
        header_timeout=config.header_timeout,
        http=ServerProtocol,
        ws="none",  # no WebSocket endpoints: an upgrade request is answered as plain HTTP
        lifespan="on",
        backlog=config.backlog,
        timeout_keep_alive=config.keep_alive,  # type: ignore[arg-type]
        # uvicorn annotates these as int but waits with asyncio timers: fractions work
        timeout_graceful_shutdown=max(0.1, config.grace - 0.3),  # type: ignore[arg-type]
        h11_max_incomplete_event_size=config.max_header_bytes,
        access_log=access_log,
        log_config=None,
        server_header=False,
    )
    return uvicorn.Server(ucfg)


def run(config: ServerConfig, sock: socket.socket, *, access_log: bool = False,
        on_ready: Callable[[], None] | None = None, app: Any = None) -> None:
    """Serve on a bound socket until SIGTERM or SIGINT, then drain: in-flight requests are
    answered (for up to ``config.grace`` seconds) and the call returns normally.
    ``on_ready`` is called once the server is ready for requests; ``app`` replaces the
    reward app (the SAM2 service) under the same connection limits."""
    server = _uvicorn_server(config, access_log=access_log, on_ready=on_ready, app=app)
    # uvicorn re-raises the stopping signal once it has drained; with these handlers that
    # is a no-op and the caller decides the exit status (0: drained as asked)
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()


@contextlib.contextmanager
def serve_in_thread(
    config: ServerConfig | None = None, *, host: str = "127.0.0.1"
) -> Iterator[str]:
    """Serve on a free port of ``host`` in a thread; yields the base URL (tests, notebooks).

    The server is stopped (drained) when the block ends.
    """
    config = config or ServerConfig()
    sock = bind(host, 0, config.backlog)
    server = _uvicorn_server(config, access_log=False)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="unireward-server")
    thread.start()
    while not server.started and thread.is_alive():
        thread.join(0.01)
    if not server.started:
        sock.close()
        raise RuntimeError("the server did not start")
    port = sock.getsockname()[1]
    try:
        yield f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    finally:
        server.should_exit = True
        thread.join(config.grace + 5)
        sock.close()
