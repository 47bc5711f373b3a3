"""The error dict handed to error handlers, and the default error bodies.

Spec "Custom Error Handling": an error handler gets ``error`` with the keys
``code``, ``message``, ``detail``, ``mode``, ``debug``, ``time``, ``url``,
``software`` and ``traceback``, plus ``errno`` (the application error code,
spec "Response All Errors As JSON"), ``status``, ``more_info`` and, for a
parameter error, ``param``.

``traceback`` (a list of lines) is filled only when the app is in debug
mode; production responses never carry one.

``message`` is the status's reason phrase (``"Not Found"``) and ``detail``
the explanation (``was.Error("404 Not Found", "no such item")``,
``was.response.with_explain``), as in the original Atila.

The default body is a short HTML page for a client whose ``Accept`` header
prefers ``text/html`` (a browser) and JSON for every other client (curl,
HTTP libraries, ``fetch``), see :func:`wants_json`.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

from atila.debugpage import debug_html, exception_of
from atila.errors import HTTPError, ParameterError
from atila.request import prefers_html
from atila.responses import format_traceback

__all__ = [
    "SOFTWARE", "default_error_body", "error_html", "error_info", "error_payload", "wants_json",
]  # fmt: skip

SOFTWARE = "atila/0.1"


def error_info(error: HTTPError, url: str, *, debug: bool, exc_info: Any = None) -> dict[str, Any]:
    """The ``error`` dict of ``error`` for a request to ``url``."""
    trace = (format_traceback(exc_info) or None) if debug and exc_info else None
    info: dict[str, Any] = {
        "code": error.code,
        "status": error.status,
        "message": error.message,
        "detail": error.detail,
        "errno": error.errno,
        "more_info": error.more_info,
        "mode": "debug" if debug else "normal",
        "debug": "see traceback" if trace else None,
        "time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S+00"),
        "url": url,
        "software": SOFTWARE,
        "traceback": trace,
    }
    if isinstance(error, ParameterError):
        info["param"] = error.param
    return info


def wants_json(accept: str) -> bool:
    """True when an error should be answered as JSON: unless the client's
    ``Accept`` header prefers HTML (a browser; see :func:`atila.request.prefers_html`)."""
    return not prefers_html(accept)


def error_payload(info: dict[str, Any]) -> dict[str, Any]:
    """The JSON error body: ``code`` (``errno``, else the HTTP code), ``message``,
    and ``param``, ``detail``, ``more_info``, ``debug``, ``traceback`` when set."""
    payload: dict[str, Any] = {
        "code": info["errno"] if info["errno"] is not None else info["code"],
        "message": info["message"],
    }
    for key in ("param", "detail", "more_info", "debug", "traceback"):
        if info.get(key) is not None:
            payload[key] = info[key]
    return payload


def error_html(info: dict[str, Any], exc_info: Any = None, method: str = "") -> str:
    """The short HTML error page (with the traceback only when ``info`` has one).

    When ``info`` has a traceback (debug mode) and ``exc_info`` holds the
    exception, the page is the full debug page of :mod:`atila.debugpage`.
    """
    exc = exception_of(exc_info) if info["traceback"] else None
    if exc is not None:
        return debug_html(info, exc, method)
    title = html.escape(info["status"])
    parts = [
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">',
        f"<title>{title}</title></head><body><h1>{title}</h1>",
    ]
    if info["detail"]:
        parts.append(f"<p>{html.escape(str(info['detail']))}</p>")
    if info["traceback"]:
        parts.append("<pre>" + html.escape("\n".join(info["traceback"])) + "</pre>")
    parts.append("</body></html>\n")
    return "".join(parts)


def default_error_body(
    info: dict[str, Any], as_json: bool, exc_info: Any = None, method: str = ""
) -> tuple[str, bytes]:
    """Content type and body of the default error response (see :func:`error_html`)."""
    if as_json:
        return "application/json", json.dumps(error_payload(info), default=str).encode("utf-8")
    return "text/html; charset=utf-8", error_html(info, exc_info, method).encode("utf-8")
