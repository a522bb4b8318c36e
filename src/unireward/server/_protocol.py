"""uvicorn's HTTP/1.1 protocol (h11) with a header deadline and JSON error replies.

uvicorn closes idle keep-alive connections, but a client that sends its request line and
headers one byte at a time (slowloris) holds its connection for as long as it likes. Here
the request line and headers must be complete within ``header_timeout`` seconds of the
connection opening or of the previous response ending; otherwise the connection gets a
408 and is closed (silently when it sent nothing at all). Replies that uvicorn writes itself
for malformed requests (400, 431 for oversized headers) carry a JSON body like every other
error of the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["ServerProtocol", "raw_json_reply"]

log = logging.getLogger("unireward.server")

_PHRASES = {400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large"}


def raw_json_reply(status: int, message: str) -> bytes:
    """A complete ``Connection: close`` HTTP/1.1 reply with body ``{"error": message}``."""
    body = json.dumps({"error": message}).encode()
    head = (f"HTTP/1.1 {status} {_PHRASES.get(status, 'Error')}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n")
    return head.encode("ascii") + body


class ServerProtocol(H11Protocol):
    """:class:`H11Protocol` plus the header deadline (``config.header_timeout``, set by the
    server) and JSON bodies on the replies uvicorn sends by itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = float(getattr(self.config, "header_timeout", 10.0))
        self._header_timer: asyncio.TimerHandle | None = None
        self._waiting_cycle: Any = None
        self._max_header = int(self.config.h11_max_incomplete_event_size or 16384)
        self._header_bytes = 0
        self._tail = b""

    def _arm(self) -> None:
        self._disarm()
        self._waiting_cycle = self.cycle
        self._header_bytes = 0
        self._tail = b""
        self._header_timer = self.loop.call_later(self._header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._header_timer is not None and self._headers_too_large(data):
            return
        super().data_received(data)
        if self._header_timer is not None and self.cycle is not self._waiting_cycle:
            self._disarm()  # a request's headers are complete

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # a pipelined request may already have started a new cycle: its headers are complete
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm()

    def _headers_too_large(self, data: bytes) -> bool:
        """Count the bytes of the request line and headers (h11 checks its buffer only while
        a request is incomplete, so headers arriving in one piece would escape the limit)."""
        probe = self._tail + data
        end = probe.find(b"\r\n\r\n")
        used = self._header_bytes + (len(data) if end < 0 else end + 4 - len(self._tail))
        if used <= self._max_header:
            self._header_bytes += len(data)
            self._tail = probe[-3:]
            return False
        self._disarm()
        self.transport.write(
            raw_json_reply(431, f"request line and headers over {self._max_header} bytes")
        )
        self.transport.close()
        return True

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._header_bytes == 0:  # an idle connection: nothing to answer, just close it
            self.transport.close()
            return
        log.info("closing a connection from %s: request headers not complete within %g s",
                 self.client, self._header_timeout)
        self.transport.write(raw_json_reply(
            408, f"request line and headers not received within {self._header_timeout:g} s"))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        exc = sys.exc_info()[1]  # the h11 error being handled, when there is one
        status = int(getattr(exc, "error_status_hint", 400) or 400)
        status = status if status in _PHRASES else 400
        detail = (
            f"request line and headers over {self._max_header} bytes"
            if status == 431
            else f"invalid HTTP request ({exc or msg})"
        )
        self._disarm()
        self.transport.write(raw_json_reply(status, detail))
        self.transport.close()
