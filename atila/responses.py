"""What a handler returns, and turning it into a WSGI response.

Spec: "Response", "HTTP Exception", "Data Streaming", "Treaded Data Streaming",
"Redirecting To Static File", "File Stream On Local File System", "API Response".

* :class:`Response` is ``was.response``: status, headers, body, cache validators.
* :class:`API` / :func:`Fault` are JSON responses; :func:`redirect` a 3xx.
* :class:`File` / :class:`Static` serve a file (see :mod:`atila.payloads`);
  :class:`Queue` streams what a producer thread puts on a queue.
* :func:`build_response` turns any documented return value into
  ``(status_line, headers, iterable_of_bytes)`` for ``start_response``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import sys
import traceback as _traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, NoReturn

from atila import jsonenc
from atila.errors import HTTPError, status_line
from atila.payloads import (
    Body,
    File,
    QueueBody,
    Static,
    StreamClosed,
    StreamQueue,
    get_header,
    is_fresh,
    remove_header,
    serve_file,
    setdefault_header,
    to_timestamp,
)
from atila.request import prefers_html

Headers = list[tuple[str, str]]
ExcInfo = tuple[Any, Any, Any]
#: ``error_renderer(status, detail, exc_info)`` -> a body for a body-less error response
ErrorRenderer = Callable[[str, str | None, ExcInfo | None], Any]

HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
JSON_TYPE = "application/json"


@dataclass
class ResponseContext:
    """What :func:`build_response` needs to know about the request and the app.

    ``static_root`` is the directory ``static_url`` (``app.config.STATIC_URL``)
    maps to, for :class:`Static`. ``range``/``if_range`` are the request's
    ``Range``/``If-Range`` headers. ``error_renderer``, when set, renders the
    body of an error response returned without one (``was.response("404 Not
    Found")``, ``with_explain``); otherwise a small HTML/JSON page is used.
    """

    method: str = "GET"
    accept: str = ""
    debug: bool = False
    json_encoder: str = jsonenc.DEFAULT_ENCODER
    pretty_json: bool = False
    if_none_match: str | None = None
    if_modified_since: str | None = None
    static_root: str | None = None
    static_url: str = "/"
    #: the engine's static mounts (``environ["skitai.context"].static_dirs``),
    #: used when the app has no ``STATIC_ROOT``
    static_dirs: tuple[tuple[str, str], ...] = ()
    range: str | None = None
    if_range: str | None = None
    error_renderer: ErrorRenderer | None = None
    #: ``environ["skitai.early_hints"]``: sends ``103 Early Hints`` (None off the engine)
    early_hints: Callable[[list[str]], None] | None = None

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, Any],
        debug: bool = False,
        json_encoder: str = jsonenc.DEFAULT_ENCODER,
        pretty_json: bool = False,
        static_root: str | None = None,
        static_url: str = "/",
        **more: Any,
    ) -> ResponseContext:
        """Fill the request fields from a WSGI ``environ``; app settings by keyword."""
        get = environ.get
        engine = get("skitai.context")
        return cls(  # positional, in field order: this runs for every request
            get("REQUEST_METHOD", "GET").upper(),
            get("HTTP_ACCEPT", ""),
            debug,
            json_encoder,
            pretty_json,
            get("HTTP_IF_NONE_MATCH"),
            get("HTTP_IF_MODIFIED_SINCE"),
            static_root,
            static_url,
            () if engine is None else getattr(engine, "static_dirs", ()),
            get("HTTP_RANGE"),
            get("HTTP_IF_RANGE"),
            early_hints=get("skitai.early_hints"),
            **more,
        )

    @property
    def wants_json(self) -> bool:
        """Whether an error page for this client is JSON (its ``Accept`` does not prefer HTML)."""
        return not prefers_html(self.accept)


class NotModified(HTTPError):
    """Raised by ``set_etag``/``set_mtime`` when the client's copy is current.

    Carries the validator headers; :func:`build_response` answers any 304
    without a body.
    """

    def __init__(self, headers: Headers) -> None:
        super().__init__(304, "not modified", headers=headers)


# --------------------------------------------------------------------------- was.response


class Response:
    """``was.response``: the status, headers and body of the current response.

    Create one per request; pass the request's :class:`ResponseContext` so that
    ``set_etag``/``set_mtime`` can stop the handler early with a 304.
    ``response["Content-Type"]`` reads (``None`` when absent), sets and deletes
    headers, case-insensitively.
    """

    def __init__(self, context: ResponseContext | None = None) -> None:
        self.status: str = "200 OK"
        self.headers: Headers = []
        self.body: Any = None
        self.exc_info: ExcInfo | None = None
        self.detail: str | None = None
        self.context = context

    def __call__(
        self,
        status: int | str = "200 OK",
        body: Any = None,
        headers: Headers | Mapping[str, str] | None = None,
        exc_info: ExcInfo | None = None,
    ) -> Response:
        """``was.response(status, body, headers, exc_info)``: set all, return self.

        Without ``body``, an error status gets the app's error page; with
        ``exc_info`` the traceback is shown even when ``debug`` is off.
        """
        self.set_status(status)
        self.body = body
        if headers:
            self.set_headers(headers)
        self.exc_info = exc_info
        return self

    @property
    def status_code(self) -> int:
        """The numeric status (``200``)."""
        return int(self.status[:3])

    def set_status(self, status: int | str) -> None:
        """Set the status from ``404``, ``"404"`` or ``"404 Not Found"``."""
        self.status = status_line(status)

    def get_status(self) -> str:
        """The status line, e.g. ``"200 OK"``."""
        return self.status

    def set_headers(self, headers: Headers | Mapping[str, str]) -> None:
        """Set several headers: each name given replaces earlier values of it."""
        items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        for name in {k.lower() for k, _ in items}:
            remove_header(self.headers, name)
        self.headers.extend((str(k), str(v)) for k, v in items)

    def get_headers(self) -> Headers:
        """The header list (live: changes to it change the response)."""
        return self.headers

    def set_header(self, name: str, value: Any) -> None:
        """Set ``name`` to ``value``, replacing earlier values; ``None`` deletes it."""
        if self.headers:
            remove_header(self.headers, name)
        if value is not None:
            self.headers.append((name, str(value)))

    def append_header(self, name: str, value: Any) -> None:
        """Add a header without replacing others of that name (``Set-Cookie``)."""
        self.headers.append((name, str(value)))

    def get_header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``default``."""
        return get_header(self.headers, name, default)

    def del_header(self, name: str) -> None:
        """Remove every value of header ``name``."""
        remove_header(self.headers, name)

    __getitem__ = get_header
    __setitem__ = set_header
    __delitem__ = del_header

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and get_header(self.headers, name) is not None

    def throw(self, status: int | str = "500 Internal Server Error", explain: str = "") -> NoReturn:
        """Abort the handler now and answer ``status`` (raises :class:`HTTPError`);
        ``explain`` becomes the error's ``detail``."""
        raise HTTPError(status, explain)

    def with_explain(self, status: int | str, detail: str) -> Response:
        """An error response whose page shows ``detail`` (``error["detail"]``)."""
        self.set_status(status)
        self.body = None
        self.detail = detail
        return self

    def traceback(
        self,
        msg: str = "",
        code: int | str | None = 10001,
        debug: str = "see traceback",
        more_info: str | None = None,
    ) -> API:
        """A :func:`Fault` with the exception being handled (call inside ``except``)."""
        return Fault(self.status, msg, code, debug, more_info, exc_info=sys.exc_info())

    def hint_promise(self, uri: str) -> None:
        """Tell an HTTP/2 client now that the response will need ``uri``: ``103 Early Hints``.

        The engine sends ``Link: <uri>; rel=preload`` in a ``103`` before the
        response (browsers preload from it; server push is gone from them).
        Ignored on HTTP/1.x (as the spec says), off the engine and once the
        response has started.
        """
        context = self.context
        if context is not None and context.early_hints is not None:
            context.early_hints([uri])

    # -- cache validators --------------------------------------------------

    def set_etag(self, identifier: str | bytes, max_age: int = 0, as_etag: bool = False) -> None:
        """Send ``ETag`` (an MD5 of ``identifier``, or it verbatim with ``as_etag``).

        ``max_age`` > 0 adds ``Cache-Control: max-age``. Raises
        :class:`NotModified` (304) when the request's ``If-None-Match`` matches.
        """
        self._set_validators(identifier, None, None, max_age, as_etag)

    def set_mtime(self, mtime: Any, length: int | None = None, max_age: int = 0) -> None:
        """Send ``Last-Modified`` (``mtime``: epoch seconds or a datetime).

        Raises :class:`NotModified` when ``If-Modified-Since`` is not older;
        ``length`` is compared with a legacy ``If-Modified-Since: ...; length=n``.
        """
        self._set_validators(None, mtime, length, max_age, False)

    def set_etag_mtime(
        self,
        identifier: str | bytes,
        mtime: Any,
        length: int | None = None,
        max_age: int = 0,
        as_etag: bool = False,
    ) -> None:
        """:meth:`set_etag` and :meth:`set_mtime` together (one 304 check)."""
        self._set_validators(identifier, mtime, length, max_age, as_etag)

    def _set_validators(
        self,
        identifier: str | bytes | None,
        mtime: Any,
        length: int | None,
        max_age: int,
        as_etag: bool,
    ) -> None:
        etag = None
        if identifier is not None:
            if as_etag:
                etag = str(identifier).strip('"')
            else:
                raw = identifier if isinstance(identifier, bytes) else str(identifier).encode()
                etag = hashlib.md5(raw, usedforsecurity=False).hexdigest()
            self.set_header("ETag", f'"{etag}"')
        stamp = None
        if mtime is not None:
            stamp = to_timestamp(mtime)
            self.set_header("Last-Modified", formatdate(stamp, usegmt=True))
        if max_age:
            self.set_header("Cache-Control", f"max-age={int(max_age)}")
        ctx = self.context
        if ctx is not None and is_fresh(ctx, f'"{etag}"' if etag else None, stamp, length):
            self.status = "304 Not Modified"
            raise NotModified([(k, v) for k, v in self.headers if k.lower() in _VALIDATORS])


_VALIDATORS = frozenset({"etag", "last-modified", "cache-control", "expires", "vary"})


# --------------------------------------------------------------------------- API / Fault


class API(dict):  # type: ignore[type-arg]
    """``was.API(status_or_data=None, **data)``: a JSON response body.

    ``API(rows=rows)`` answers 200 (or ``was.response``'s status);
    ``API("201 Created", id=1)`` sets the status; ``API("205 No Content")``
    and ``API("204 No Content")`` have no body.
    """

    def __init__(self, status_or_data: Any = None, /, **data: Any) -> None:
        if status_or_data is None and "__data_dict__" not in data:  # was.API(a=1, b=2)
            self.status: str | None = None
            dict.update(self, data)
            return
        payload = data.pop("__data_dict__", None)
        self.status = None
        if isinstance(status_or_data, str | int) and not isinstance(status_or_data, bool):
            self.status = status_line(status_or_data)
        elif isinstance(status_or_data, Mapping):
            payload = status_or_data
        elif status_or_data is not None:
            raise TypeError(f"API() takes a status or a dict, not {status_or_data!r}")
        super().__init__(payload or {}, **data)

    def __repr__(self) -> str:
        return f"API({self.status or ''!s}{dict.__repr__(self)})"


def format_traceback(exc_info: Any) -> list[str]:
    """An exception as the spec's list: its message, then ``in file ... at line ...``.

    ``exc_info`` may be a ``sys.exc_info()`` tuple, an exception, or an
    already formatted list of strings (returned as is).
    """
    if isinstance(exc_info, list):
        return [str(line) for line in exc_info]
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if not isinstance(exc_info, tuple) or exc_info[0] is None:
        return []
    exc_type, value, tb = exc_info
    lines = [str(value) or exc_type.__name__]
    for frame in _traceback.extract_tb(tb):
        lines.append(f"in file {frame.filename} at line {frame.lineno}, function {frame.name}")
    return lines


def Fault(  # noqa: N802 - the spec's public name
    status: int | str = "200 OK",
    message: Any = "",
    code: Any = None,
    debug: Any = None,
    more_info: Any = None,
    exc_info: Any = None,
    traceback: bool = False,
    **data: Any,
) -> API:
    """``was.Fault(status, message, code, debug, more_info, exc_info, traceback, **data)``.

    An :class:`API` with ``status``. With a message, a code, an error status or
    a traceback it carries ``{"message", "code"}`` (the status phrase when no
    message), plus ``debug`` and ``more_info`` when given, and ``traceback``
    (:func:`format_traceback`, ``debug`` defaulting to ``"see traceback"``)
    from ``exc_info`` or, with ``traceback=True``, the exception being handled.
    A first argument that is not a status (the spec's "How To" example) is
    taken as the message, the others shifting right, with the status left to
    ``was.response``.
    """
    api_status: str | None
    try:
        api_status = status_line(status)
    except ValueError:
        api_status = None
        message, code, debug, more_info = status, message, code, debug
    api = API(api_status, **data)
    is_error = api_status is not None and int(api_status[:3]) >= 400
    lines = format_traceback(exc_info or (sys.exc_info() if traceback else None))
    if message or code is not None or is_error or lines:
        api["message"] = message or (api_status[4:] if api_status and is_error else "")
        api["code"] = code
    if debug:
        api["debug"] = debug
    if more_info:
        api["more_info"] = more_info
    if lines:
        api.setdefault("debug", "see traceback")
        api["traceback"] = lines
    return api


def redirect(url: str, status: int | str = "302 Found") -> Response:
    """``was.redirect(url)``: a 302 (or ``status``) with ``Location: url``."""
    response = Response()
    response.set_status(status)
    response.set_header("Location", url)
    response.set_header("Content-Type", HTML_TYPE)
    link = html.escape(url, quote=True)
    response.body = f'<html><body>Redirecting to <a href="{link}">{link}</a></body></html>'
    return response


# --------------------------------------------------------------------------- Queue


class Queue:
    """``was.Queue(producer)``: stream what ``producer(queue)`` puts, from a thread.

    The producer runs on a daemon thread when the server starts reading the
    body; ``str`` items are UTF-8 encoded; ``None`` (or the producer returning)
    ends the stream. An exception in the producer ends the stream with an error.
    """

    def __init__(
        self, producer: Callable[[StreamQueue], Any], content_type: str = TEXT_TYPE
    ) -> None:
        self.producer = producer
        self.content_type = content_type

    def stream(self) -> Iterator[bytes]:
        """A fresh body iterator (with ``close()``) for one response."""
        return QueueBody(self.producer)


# --------------------------------------------------------------------------- build_response


def _error_page(status: str, detail: str | None, exc_info: Any, ctx: ResponseContext) -> Any:
    lines = format_traceback(exc_info) if exc_info else []
    if ctx.wants_json:
        api = Fault(status, status[4:], int(status[:3]), exc_info=lines or None)
        if detail:
            api["detail"] = detail
        return api
    parts = [f"<h1>{html.escape(status)}</h1>"]
    if detail:
        parts.append(f"<p>{html.escape(detail)}</p>")
    if lines:
        parts.append("<pre>" + html.escape("\n".join(lines)) + "</pre>")
    return "<html><body>" + "".join(parts) + "</body></html>"


def _render_body(
    body: Any, status: str, headers: Headers, ctx: ResponseContext
) -> tuple[str, Iterable[bytes] | bytes, int | None]:
    """(status, body chunks or bytes, length if known); sets Content-Type defaults."""
    if isinstance(body, str):
        setdefault_header(headers, "Content-Type", HTML_TYPE)
        data = body.encode("utf-8")
        return status, data, len(data)
    if dataclasses.is_dataclass(body) and not isinstance(body, type):
        body = dataclasses.asdict(body)  # a handler typed ``-> SomeDataclass`` (atila.openapi)
    if isinstance(body, API | dict):
        status = getattr(body, "status", None) or status
        setdefault_header(headers, "Content-Type", JSON_TYPE)
        data = jsonenc.dumps(body, ctx.json_encoder, ctx.pretty_json).encode("utf-8")
        return status, data, len(data)
    if isinstance(body, bytes | bytearray | memoryview):
        setdefault_header(headers, "Content-Type", HTML_TYPE)
        data = bytes(body)
        return status, data, len(data)
    if body is None:
        return status, b"", 0
    if isinstance(body, File | Static):
        return serve_file(body, status, headers, ctx)
    if isinstance(body, Queue):
        setdefault_header(headers, "Content-Type", body.content_type)
        return status, body.stream(), None
    if isinstance(body, int | float):
        return _render_body(str(body), status, headers, ctx)
    chunks = Body(list(body) if isinstance(body, list | tuple) else [body])
    setdefault_header(headers, "Content-Type", chunks.content_type or HTML_TYPE)
    return status, chunks, chunks.length


def _close(chunks: Any) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def _no_body(code: int, method: str) -> bool:
    return code < 200 or code in (204, 205, 304) or method == "HEAD"


def build_response(
    result: Any, response: Response, ctx: ResponseContext
) -> tuple[str, Headers, Iterable[bytes]]:
    """Turn a handler's return value into ``(status, headers, body iterable)``.

    ``result`` may be ``was.response`` itself or another :class:`Response`
    (whose status/body win and whose headers override), ``None`` (the body set
    by ``was.response(...)``, if any), ``str``/``bytes``, a number, an
    :class:`API` or ``dict`` (JSON), :class:`File`, :class:`Static`,
    :class:`Queue`, a file-like object, an iterator/generator, an object with
    ``more()``, or a list/tuple of those. An error status without a body gets
    an error page. GET/HEAD responses with a matching validator become 304;
    1xx/204/205/304 and HEAD responses carry no body (HEAD keeps
    ``Content-Length``). The returned iterable's ``close()`` closes the
    underlying objects. Raises :class:`HTTPError` (404) for a missing
    :class:`Static` file and ``TypeError`` for an unsupported value.
    """
    status, headers = response.status, list(response.headers)
    body, exc_info, detail = response.body, response.exc_info, response.detail
    if isinstance(result, Response):
        if result is not response:
            status, body, exc_info, detail = (
                result.status,
                result.body,
                result.exc_info,
                result.detail,
            )
            names = {k.lower() for k, _ in result.headers}
            headers = [h for h in headers if h[0].lower() not in names] + result.headers
    elif result is not None:
        body = result
    if body is None and (exc_info is not None or int(status[:3]) >= 400):
        renderer = ctx.error_renderer
        body = renderer(status, detail, exc_info) if renderer else None
        if body is None:
            body = _error_page(status, detail, exc_info, ctx)
    status, chunks, length = _render_body(body, status, headers, ctx)
    code = int(status[:3])
    if (
        code == 200
        and (ctx.if_none_match or ctx.if_modified_since)  # else never fresh (is_fresh)
        and ctx.method in ("GET", "HEAD")
    ):
        etag = get_header(headers, "ETag")
        modified = get_header(headers, "Last-Modified")
        if (etag or modified) and is_fresh(ctx, etag, to_timestamp(modified), None):
            status, code = "304 Not Modified", 304
    if _no_body(code, ctx.method):
        if not isinstance(chunks, bytes):
            _close(chunks)
        if code < 200 or code in (204, 304):
            remove_header(headers, "Content-Length")
            remove_header(headers, "Content-Type")
            return status, headers, []
        if code == 205:
            remove_header(headers, "Content-Type")
            length = 0
        if length is not None:
            setdefault_header(headers, "Content-Length", str(length))
        return status, headers, []
    if length is not None:
        setdefault_header(headers, "Content-Length", str(length))
    return status, headers, [chunks] if isinstance(chunks, bytes) else chunks


__all__ = [
    "API",
    "ErrorRenderer",
    "Fault",
    "File",
    "NotModified",
    "Queue",
    "Response",
    "ResponseContext",
    "Static",
    "StreamClosed",
    "StreamQueue",
    "build_response",
    "format_traceback",
    "redirect",
]
