"""``103 Early Hints`` (RFC 8297) on HTTP/2: ``environ["skitai.early_hints"]``.

An app calls ``environ["skitai.early_hints"](["/static/app.css", ...])`` before
its response; an HTTP/2 client gets a ``103`` interim HEADERS frame on the
stream at once, with one ``Link: <uri>; rel=preload`` per URI, and can fetch
them while the app works.  Once the response has started, hints are dropped.

HTTP/1.x clients get nothing, as the spec says of ``hint_promise``: many
HTTP/1.1 clients take a ``103`` for the final response (Python's
``http.client``, hence ``requests``, reads an empty body), and browsers act on
Early Hints over HTTP/2 and later only.  Server push is not used either:
browsers removed it; Early Hints is what they preload from.  Atila's
``was.response.hint_promise(uri)`` calls this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .http2_stream import H2Exchange

if TYPE_CHECKING:
    from .exchange import Exchange

#: Bytes a URI in a Link field may not contain (they would end the field or the value).
_UNSAFE = frozenset(b"\r\n<>\x00")


class EarlyHints:
    """Sends ``103 Early Hints`` for one exchange; callable from a handler thread or the loop."""

    __slots__ = ("exchange",)

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    def __call__(self, uris: Iterable[str]) -> None:
        """Hint that the response will need ``uris`` (``Link: <uri>; rel=preload``).

        Raises ``ValueError`` for a URI with CR, LF, NUL, ``<`` or ``>``.
        """
        links = []
        for uri in uris:
            value = uri.encode("utf-8")
            if _UNSAFE.intersection(value):
                raise ValueError(f"not a URI for a Link field: {uri!r}")
            links.append(b"<%s>; rel=preload" % value)
        if not links or not isinstance(self.exchange, H2Exchange):
            return
        loop = self.exchange.protocol.loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._send(links)
        else:  # queued before the response, which a handler thread also queues on the loop
            loop.call_soon_threadsafe(self._send, links)

    def _send(self, links: list[bytes]) -> None:
        exchange = self.exchange
        if exchange.started or exchange.closed:
            return
        if isinstance(exchange, H2Exchange):
            fields = [(b":status", b"103")] + [(b"link", link) for link in links]
            exchange.stream.connection.send_head(exchange.stream, fields, False)


__all__ = ["EarlyHints"]
