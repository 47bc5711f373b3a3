"""Corequest failures that carry the HTTP status a handler should answer.

A framework turns an uncaught exception with a ``status`` attribute (an HTTP
status line) into that response; Atila does (see ``atila.dispatch``).
"""

from __future__ import annotations


class CorequestError(Exception):
    """A corequest failed in a way the client should hear about as ``status``."""

    status = "502 Bad Gateway"

    def __init__(self, message: str, status: str | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def code(self) -> int:
        """The numeric status (``503``)."""
        return int(self.status[:3])


class BackendUnavailable(CorequestError):
    """The backend cannot be reached (database down, connection refused)."""

    status = "503 Service Unavailable"


class BackendDropped(CorequestError):
    """The backend dropped the connection during the request, twice."""

    status = "502 Bad Gateway"


class CorequestTimeout(CorequestError):
    """The corequest did not finish in time (it was cancelled)."""

    status = "504 Gateway Timeout"


class WouldBlock(RuntimeError):
    """A blocking wait was asked for on the event loop thread (``await`` it instead)."""


__all__ = [
    "BackendDropped",
    "BackendUnavailable",
    "CorequestError",
    "CorequestTimeout",
    "WouldBlock",
]
