"""Protocol errors that carry the HTTP status they must be answered with."""

from __future__ import annotations


class ProtocolError(Exception):
    """A request the server refuses before any application sees it.

    ``status`` is the full status line text (``"400 Bad Request"``) and the
    message is the plain-text body explaining why.
    """

    status = "400 Bad Request"

    def __init__(self, message: str, status: str | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class BadRequest(ProtocolError):
    """Malformed or ambiguous request (smuggling attempts included)."""

    status = "400 Bad Request"


class URITooLong(ProtocolError):
    """Request target longer than ``Config.max_uri_size``."""

    status = "414 URI Too Long"


class HeadersTooLarge(ProtocolError):
    """Request head larger than ``Config.max_header_size``."""

    status = "431 Request Header Fields Too Large"


class ContentTooLarge(ProtocolError):
    """Request body larger than the mount's ``max_client_body_size``."""

    status = "413 Content Too Large"


class RequestTimeout(ProtocolError):
    """The client did not send the request head or body in time."""

    status = "408 Request Timeout"


class ClientDisconnected(OSError):
    """Raised in a handler thread that reads from or writes to a gone client."""
