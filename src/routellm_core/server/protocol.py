"""HTTP/1.1 connections: uvicorn's h11 protocol with read timeouts and errors in OpenAI's format.

uvicorn waits for a request's headers and body as long as the client likes, so
a client sending slowly (or a body shorter than its Content-Length, or a chunked
body that never ends) holds a connection forever. :class:`RouterH11Protocol` adds:

- a **header timeout**: the request line and headers must arrive within
  ``header_timeout`` seconds of the request's first byte (or of the connection's
  start). Past it the server answers 408 (or just closes a connection that sent
  nothing) and closes;
- a **body timeout**: the whole body must arrive within ``body_timeout`` seconds
  after the headers. Past it the server answers 408 if it has not answered yet,
  and closes the connection; the app sees a client disconnect with
  ``scope[BODY_TIMED_OUT]`` set;
- malformed HTTP framing (bad request line, bad headers, bad chunk sizes) is
  answered with a 400 in OpenAI's JSON error format instead of plain text;
- on shutdown (uvicorn calls every connection's ``shutdown()``), the app's
  admission gate, found in the lifespan state under :data:`ADMISSION_STATE`,
  drains: requests waiting for a slot get 503 at once.

Idle keep-alive connections are still closed by uvicorn's ``timeout_keep_alive``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .settings import DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, SETTINGS_ENV

#: scope key set when the body timeout ended the request
BODY_TIMED_OUT = "routellm.body_timed_out"
#: lifespan state key of the app's admission gate (anything with ``drain()``), drained when the server shuts down
ADMISSION_STATE = "routellm.admission"


def _error_body(message: str, code: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}).encode()


def _no_delay(transport: asyncio.Transport) -> None:
    """Send small writes at once (TCP_NODELAY), as asyncio does for sockets it knows to be TCP.

    With ``--workers N`` the workers inherit a listening socket rebuilt with protocol number 0, so asyncio
    does not recognise the accepted sockets as TCP and leaves Nagle's algorithm on: the response body then
    waits for the client's delayed ACK of the headers, ~40 ms per request on an idle keep-alive connection.
    """
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class RouterH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header and body read timeouts; use :func:`http_protocol` to set them."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._phase: str | None = None  # "headers" or "body" while a read deadline runs
        self._bytes_in_request = 0

    # -- deadlines --------------------------------------------------------------------------
    def _watch(self, phase: str) -> None:
        self._unwatch()
        self._phase = phase
        self._bytes_in_request = 0 if phase == "headers" else self._bytes_in_request
        seconds = self.header_timeout if phase == "headers" else self.body_timeout
        self._timer = self.loop.call_later(seconds, self._expired)

    def _unwatch(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._phase = None

    def _update(self) -> None:
        """Follow the request through h11's states: headers, then body, then done."""
        if self.transport is None or self.transport.is_closing():
            self._unwatch()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._phase is None and self.conn.trailing_data[0]:  # part of a pipelined request is waiting
                self._watch("headers")
        elif state is h11.SEND_BODY:
            if self._phase != "body":
                self._watch("body")
        elif self._phase is not None:
            self._unwatch()

    def _expired(self) -> None:
        phase, self._timer, self._phase = self._phase, None, None
        if self.transport is None or self.transport.is_closing():
            return
        if phase == "headers":
            if self.conn.their_state is h11.IDLE and self.conn.our_state is h11.IDLE and self._bytes_in_request:
                self._write_raw_error(408, f"request headers not received within {self.header_timeout:g}s", "header_timeout")
            self.logger.info("closing a connection: request headers not received within %gs", self.header_timeout)
            self.transport.close()
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_started and self.conn.our_state is h11.SEND_RESPONSE:
            cycle.scope[BODY_TIMED_OUT] = True  # type: ignore[literal-required]
            self._send_error(408, f"request body not received within {self.body_timeout:g}s", "body_timeout")
        self.logger.info("closing a connection: request body not received within %gs", self.body_timeout)
        self._end_cycle()
        self.transport.close()

    # -- uvicorn hooks -----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _no_delay(transport)
        self._watch("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._unwatch()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase is None and self.conn.their_state is h11.IDLE:
            self._watch("headers")  # the first bytes of a new request on a kept-alive connection
        self._bytes_in_request += len(data)
        super().data_received(data)
        self._update()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._update()

    def shutdown(self) -> None:
        """The server is shutting down (SIGTERM): requests waiting for admission get 503 now, new ones too."""
        gate = self.app_state.get(ADMISSION_STATE)
        if gate is not None:
            gate.drain()
        super().shutdown()

    def send_400_response(self, msg: str) -> None:
        """Malformed HTTP: a 400 in OpenAI's error format (uvicorn's says so in plain text)."""
        self._unwatch()
        detail = "the request is not valid HTTP/1.1 (request line, headers or chunked body framing)"
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE) and (self.cycle is None or not self.cycle.response_started):
            try:
                self._send_error(400, detail, "invalid_http")
            except h11.LocalProtocolError:
                self._write_raw_error(400, detail, "invalid_http")
        self._end_cycle()
        self.transport.close()

    # -- writing errors --------------------------------------------------------------------------
    def _send_error(self, status: int, message: str, code: str) -> None:
        body = _error_body(message, code)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        output = self.conn.send(h11.Response(status_code=status, headers=headers))
        output += self.conn.send(h11.Data(data=body))
        output += self.conn.send(h11.EndOfMessage())
        self.transport.write(output)

    def _write_raw_error(self, status: int, message: str, code: str) -> None:
        """An answer written without h11 (which has no request to answer yet)."""
        body = _error_body(message, code)
        reason = {400: b"Bad Request", 408: b"Request Timeout"}[status]
        head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % (
            status,
            reason,
            len(body),
        )
        self.transport.write(head + body)

    def _end_cycle(self) -> None:
        """The app's request is over: its reads see a disconnect and its writes are dropped."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()


class EnvRouterH11Protocol(RouterH11Protocol):
    """:class:`RouterH11Protocol` with the timeouts of the settings in ``ROUTELLM_SERVE_SETTINGS`` (uvicorn workers)."""

    _loaded = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        if not cls._loaded and os.environ.get(SETTINGS_ENV):
            from .settings import ServerSettings

            settings = ServerSettings.from_env()
            cls.header_timeout, cls.body_timeout, cls._loaded = settings.header_timeout, settings.body_timeout, True
        super().__init__(*args, **kwargs)


def http_protocol(header_timeout: float = DEFAULT_HEADER_TIMEOUT, body_timeout: float = DEFAULT_BODY_TIMEOUT) -> type:
    """A protocol class for ``uvicorn.Config(http=...)`` with these read timeouts."""
    return type("RouterH11Protocol", (RouterH11Protocol,), {"header_timeout": header_timeout, "body_timeout": body_timeout})


#: the import string uvicorn workers load the protocol from
ENV_PROTOCOL = "routellm_core.server.protocol:EnvRouterH11Protocol"
