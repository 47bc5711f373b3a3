"""Exceptions that carry the HTTP status they are answered with.

``HTTPError`` is what ``was.Error`` names in handlers::

    raise was.Error("404 Not Found", "no such photo")
    assert name.endswith(".png"), was.Error("400 Bad Request", "png only")

The app turns it (and any other exception, as a 500) into an error response
through its error handlers; see :mod:`atila.app`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any


def status_line(status: int | str) -> str:
    """Normalise ``404`` / ``"404"`` / ``"404 Not Found"`` to a full status line."""
    if isinstance(status, int) or (isinstance(status, str) and status.strip().isdigit()):
        code = int(status)
        try:
            return f"{code} {HTTPStatus(code).phrase}"
        except ValueError:
            return f"{code} Unknown"
    text = str(status).strip()
    if len(text) < 3 or not text[:3].isdigit():
        raise ValueError(f"invalid HTTP status {status!r}")
    if len(text) == 3:
        return status_line(int(text))
    return text


class HTTPError(Exception):
    """Abort the request with ``status`` (``was.Error``).

    As in the original Atila, the error dict's ``message`` is the status's
    reason phrase (``"Not Found"`` of ``"404 Not Found"``) and ``detail`` the
    explanation given as the second argument (``explain``; ``detail=`` is its
    keyword spelling).  ``code`` is an application error code (``errno`` in the
    error dict); ``more_info`` a URL documenting the error.
    """

    def __init__(
        self,
        status: int | str = "500 Internal Server Error",
        explain: str | None = "",
        code: int | str | None = None,
        detail: str | None = None,
        more_info: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        **extra: Any,
    ) -> None:
        self.status = status_line(status)
        self.code = int(self.status[:3])
        #: the reason phrase of the status line
        self.message = self.status[4:]
        #: the explanation (``None`` when none was given)
        self.detail = explain or detail or None
        self.errno = code
        self.more_info = more_info
        self.headers = list(headers or [])
        self.extra = extra
        super().__init__(self.status, self.detail)

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}" if self.detail else self.status


class ParameterError(HTTPError):
    """A request parameter is missing, unexpected or invalid (400).

    ``param`` names the offending parameter; the JSON error body names it too,
    and ``detail`` says what is wrong with it.
    """

    def __init__(self, param: str, explain: str, status: int | str = 400) -> None:
        super().__init__(status, explain)
        self.param = param


class NotAllowed(HTTPError):
    """The route exists but not for this method (405 with ``Allow``)."""

    def __init__(self, allowed: list[str]) -> None:
        methods = ", ".join(allowed)
        super().__init__(405, f"allowed methods: {methods}", headers=[("Allow", methods)])
        self.allowed = allowed


__all__ = ["HTTPError", "NotAllowed", "ParameterError", "status_line"]


@contextmanager
def reading_body() -> Iterator[None]:
    """Turn a server's failure to deliver the request body into the HTTP error it names.

    The engine's ``wsgi.input`` raises an exception carrying ``status``
    (``"400 Bad Request"`` for a body the client cut short, ``"413 ..."`` for
    one over the engine's limit) while a handler reads a streamed body; the
    client gets that status and the message, not a 500.  Errors without a
    status (a client that went away: ``OSError``) pass through unchanged for
    the server to handle.
    """
    try:
        yield
    except HTTPError:
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised unless it names its status
        status = getattr(exc, "status", None)
        try:
            line = status_line(status) if status is not None else None
        except ValueError:
            line = None
        if line is None or int(line[:3]) < 400:
            raise
        raise HTTPError(line, str(exc) or None) from exc
