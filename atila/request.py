"""``was.request``: the request as a handler sees it (spec section "Request").

:class:`Request` wraps one WSGI environ.  Nothing is parsed up front: the
query string, the body and its form/JSON decoding happen on first use, so a
request answered with 404, 405 or 415 never reads its body.

Parameter groups (spec "Getting Parameters"):

* ``PARAMS`` — URL path parameters (``/episode/<int:id>``);
* ``URL`` — everything given in the URL: path parameters and the query string;
* ``FORM`` / ``JSON`` — the decoded body (``application/x-www-form-urlencoded``
  / ``application/json``); ``DATA`` — whichever of them the Content-Type names;
* ``DEFAULT`` — the handler's default argument values;
* ``ARGS`` (alias ``args``) — all of the above merged (see
  :func:`atila.parameters.merge_args`), defaults filling the gaps.

``multipart/form-data`` bodies are streamed to temporary files by
:mod:`atila.uploads`: ``FORM`` then holds the text fields and
:class:`~atila.uploads.UploadedFile` objects.  Security state (``session``,
``mbox``, ``JWT``, ``user``, ``cookie``) lives in :attr:`Request.security`, a
:class:`atila.security.RequestSecurity` the app attaches.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from atila.cookies import parse_cookies
from atila.errors import HTTPError, reading_body
from atila.jsonbody import MAX_JSON_DEPTH, JSONTooDeep
from atila.jsonbody import loads as json_loads
from atila.parameters import merge_args, parse_query
from atila.storage import AttrDict
from atila.uploads import UploadedFile, parse_multipart

__all__ = ["HTML_MEDIA", "Headers", "Request", "parse_accept", "prefers_html"]

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
MULTIPART_TYPE = "multipart/form-data"
_MISSING: Any = object()


def _is_json_type(media_type: str) -> bool:
    return media_type == JSON_TYPE or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _display_name(key: str) -> str:
    """``content-type`` -> ``Content-Type``."""
    return "-".join(word.capitalize() for word in key.split("-"))


class Headers(Mapping[str, str]):
    """Request headers, looked up case-insensitively (``headers["content-type"]``)."""

    def __init__(self, environ: Mapping[str, Any]) -> None:
        items: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                items[key[5:].replace("_", "-").lower()] = value
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                items[key.replace("_", "-").lower()] = value
        self._items = items

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        """The value of header ``name`` (any case), or ``default``."""
        return self._items.get(name.lower(), default)

    def as_list(self) -> list[tuple[str, str]]:
        """``[("Content-Type", "..."), ...]``."""
        return [(_display_name(k), v) for k, v in self._items.items()]

    def __repr__(self) -> str:
        return f"Headers({dict(self.as_list())!r})"


def parse_accept(value: str) -> dict[str, dict[str, str]]:
    """``"text/html;q=0.9, */*;q=0.1"`` -> ``{"text/html": {"q": "0.9"}, ...}``, best first."""
    entries: list[tuple[float, int, str, dict[str, str]]] = []
    for position, item in enumerate(value.split(",")):
        media, *raw_params = (part.strip() for part in item.split(";"))
        if not media:
            continue
        params: dict[str, str] = {}
        for raw in raw_params:
            key, _, val = raw.partition("=")
            params[key.strip().lower()] = val.strip().strip('"')
        try:
            quality = float(params.get("q", "1"))
        except ValueError:
            quality = 0.0
        entries.append((-quality, position, media.lower(), params))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    return {media: params for _, _, media, params in entries}


#: media types that make a client an HTML client (a browser)
HTML_MEDIA = ("text/html", "application/xhtml+xml")


def prefers_html(accept: str) -> bool:
    """Whether a client with this ``Accept`` header wants HTML rather than JSON.

    True only when the header names ``text/html`` (or XHTML) with q > 0 and no
    JSON type with a higher or equal q: what browsers send.  ``*/*``, an empty
    header (curl, Python HTTP clients) or one that ranks a JSON type at least as
    high as HTML means JSON.
    """
    if "html" not in accept.lower():  # the common API-client case, without parsing
        return False
    html_q = json_q = 0.0
    for media, params in parse_accept(accept).items():
        try:
            quality = float(params.get("q", "1"))
        except ValueError:
            quality = 0.0
        if media in HTML_MEDIA:
            html_q = max(html_q, quality)
        elif media.endswith(("/json", "+json")):
            json_q = max(json_q, quality)
    return html_q > 0 and html_q > json_q


class Request:
    """One HTTP request (``was.request``), built from a WSGI environ.

    ``max_body`` is the largest body accepted (``app.config.MAX_UPLOAD_SIZE``);
    a larger one answers 413 when the body is first read.
    """

    def __init__(self, environ: dict[str, Any], max_body: int = 256 * 1024 * 1024) -> None:
        self.env: dict[str, Any] = environ
        self.method: str = environ.get("REQUEST_METHOD", "GET").upper()
        self.command: str = self.method.lower()
        self.script_name: str = environ.get("SCRIPT_NAME", "")
        raw_path: str = environ.get("PATH_INFO", "")
        if raw_path.isascii():  # latin-1 -> UTF-8 changes nothing
            self.path: str = raw_path
        else:
            try:
                self.path = raw_path.encode("latin-1").decode("utf-8")
            except UnicodeError:
                self.path = raw_path
        self.query_string: str = environ.get("QUERY_STRING", "")
        protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
        self.version: str = "1.1" if protocol == "HTTP/1.1" else protocol.partition("/")[2] or "1.1"
        self.scheme: str = environ.get("wsgi.url_scheme", "http")
        self._headers: Headers | None = None
        self.max_body = max_body
        #: The routed handler function and its route description (set by the app).
        self.routed: Any = None
        #: The matched :class:`atila.routing.Route` (None before routing or on 404).
        self.route: Any = None
        #: a dict, or a callable making it on first read of :attr:`routable`
        self._routable: Any = {}
        self.PARAMS: AttrDict = AttrDict()
        self.DEFAULT: AttrDict = AttrDict()
        self._args: AttrDict | None = None
        self._query: dict[str, Any] | None = None
        self._body: bytes | None = None
        self._form: AttrDict | None = None
        self._json: Any = _MISSING
        self._data: AttrDict | None = None
        self._content_type: str | None = None
        #: ``(method_name, params)`` when this is an XML-RPC call (see atila.xmlrpc).
        self.xmlrpc: tuple[str, tuple[Any, ...]] | None = None
        #: :class:`atila.security.RequestSecurity`, attached by the app
        self.security: Any = None
        #: Directory for upload temporary files (None: the system's)
        self.upload_dir: str | None = None
        #: Deepest JSON nesting accepted in the body (``app.config.MAX_JSON_DEPTH``)
        self.max_json_depth: int = MAX_JSON_DEPTH
        self._uploads: list[UploadedFile] = []

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri}>"

    @property
    def routable(self) -> dict[str, Any]:
        """The matched route's description (``methods``, ``content_types``, ``options``,
        ``mntopt``, ``route``); made on first read."""
        value = self._routable
        if callable(value):
            value = self._routable = value()
        return value  # type: ignore[no-any-return]

    @routable.setter
    def routable(self, value: Any) -> None:
        """Set the description, or a zero-argument callable that makes it when read."""
        self._routable = value

    # -- URL ---------------------------------------------------------------

    @property
    def uri(self) -> str:
        """The request target as the client sent it (path and query)."""
        raw = self.env.get("REQUEST_URI") or self.env.get("RAW_URI")
        if raw:
            return str(raw)
        path = quote((self.script_name + self.path).encode("utf-8"), safe="/;:@&=+$,!~*'()%")
        return path + ("?" + self.query_string if self.query_string else "")

    def split_uri(self) -> tuple[str, str | None, str | None, str | None]:
        """``(path, params, query, fragment)`` of :attr:`uri`, separators kept.

        ``/a;v=1?x=1#top`` -> ``("/a", ";v=1", "?x=1", "#top")``; absent parts are None.
        """
        rest = self.uri
        rest, hash_, fragment = rest.partition("#")
        rest, question, query = rest.partition("?")
        path, semicolon, params = rest.partition(";")
        return (
            path,
            semicolon + params if semicolon else None,
            question + query if question else None,
            hash_ + fragment if hash_ else None,
        )

    @property
    def query(self) -> dict[str, Any]:
        """The query string as a dict (repeated names give lists)."""
        if self._query is None:
            self._query = parse_query(self.query_string)
        return self._query

    @property
    def URL(self) -> AttrDict:  # noqa: N802 - spec name
        """Parameters given in the URL: path parameters and the query string."""
        merged = AttrDict(self.query)
        merged.update(self.PARAMS)
        return merged

    # -- headers -----------------------------------------------------------

    @property
    def headers(self) -> Headers:
        """The request headers, case-insensitive (built on first use)."""
        if self._headers is None:
            self._headers = Headers(self.env)
        return self._headers

    def get_header(self, name: str, default: Any = None) -> Any:
        """Header ``name`` (case-insensitive), or ``default``."""
        return self.headers.get(name, default)

    def get_headers(self) -> list[tuple[str, str]]:
        """All headers as ``(Name, value)`` pairs."""
        return self.headers.as_list()

    def get_scheme(self) -> str:
        """``http`` or ``https``."""
        return self.scheme

    def get_remote_addr(self) -> str:
        """The client's IP address (``REMOTE_ADDR``)."""
        return str(self.env.get("REMOTE_ADDR", ""))

    def get_user_agent(self) -> str | None:
        """The ``User-Agent`` header."""
        return self.headers.get("user-agent")

    def get_content_type(self) -> str:
        """The body's media type, lower case, without parameters (``""`` when none)."""
        media_type = self._content_type
        if media_type is None:
            raw = self.env.get("CONTENT_TYPE")
            media_type = str(raw).split(";", 1)[0].strip().lower() if raw else ""
            self._content_type = media_type
        return media_type

    def get_main_type(self) -> str:
        """``application`` of ``application/json``."""
        return self.get_content_type().partition("/")[0]

    def get_sub_type(self) -> str:
        """``json`` of ``application/json``."""
        return self.get_content_type().partition("/")[2]

    @property
    def acceptables(self) -> dict[str, dict[str, str]]:
        """The Accept header: ``{"text/html": {"q": "0.9"}, ...}``, best first."""
        return parse_accept(self.headers.get("accept", ""))

    def acceptable(self, media: str) -> bool:
        """True when the client accepts ``media`` (no Accept header accepts anything)."""
        accept = self.headers.get("accept")
        if not accept:
            return True
        media = media.lower()
        main = media.partition("/")[0]
        for candidate, params in parse_accept(accept).items():
            if params.get("q") in ("0", "0.0", "0.00", "0.000"):
                continue
            if candidate in (media, "*/*", main + "/*"):
                return True
        return False

    # -- body --------------------------------------------------------------

    @property
    def body(self) -> bytes:
        """The request body (read once; 413 when over the upload limit)."""
        if self._body is None:
            self._body = self._read_body()
        return self._body

    def get_body(self) -> bytes:
        """The request body."""
        return self.body

    def _read_body(self) -> bytes:
        stream = self.env.get("wsgi.input")
        length_text = self.env.get("CONTENT_LENGTH") or ""
        if stream is None:
            return b""
        if length_text:
            try:
                length = int(length_text)
            except ValueError:
                raise HTTPError(400, "invalid Content-Length") from None
            if length > self.max_body:
                raise HTTPError(413, f"request body larger than {self.max_body} bytes")
            if length <= 0:
                return b""
            with reading_body():
                return stream.read(length)
        if not self.env.get("wsgi.input_terminated"):
            return b""
        with reading_body():
            data = stream.read(self.max_body + 1)
        if len(data) > self.max_body:
            raise HTTPError(413, f"request body larger than {self.max_body} bytes")
        return bytes(data)

    def _has_body(self) -> bool:
        length = self.env.get("CONTENT_LENGTH") or ""
        return (length not in ("", "0")) or bool(
            self.env.get("wsgi.input_terminated") and self.method in ("POST", "PUT", "PATCH")
        )

    @property
    def FORM(self) -> AttrDict:  # noqa: N802 - spec name
        """The url-encoded form body as a dict (empty for other bodies)."""
        if self._form is None:
            content_type = self.get_content_type()
            if content_type == MULTIPART_TYPE and self._has_body():
                self._form = AttrDict(self._read_multipart())
            elif content_type == FORM_TYPE and self._has_body():
                text = self.body.decode("utf-8", "replace")
                self._form = AttrDict(parse_query(text))
            else:
                self._form = AttrDict()
        return self._form

    @property
    def JSON(self) -> Any:  # noqa: N802 - spec name
        """The JSON body (an :class:`AttrDict` for objects); ``{}`` when not JSON.

        A body that is not valid JSON answers 400.
        """
        if self._json is _MISSING:
            if _is_json_type(self.get_content_type()) and self._has_body() and self.body:
                value = self._decode_json()
                self._json = AttrDict(value) if isinstance(value, dict) else value
            else:
                self._json = AttrDict()
        return self._json

    @property
    def DATA(self) -> AttrDict:  # noqa: N802 - spec name
        """``JSON`` or ``FORM``, as the Content-Type says; the dict handlers bind from."""
        if self._data is not None:
            return self._data
        content_type = self.get_content_type()
        if _is_json_type(content_type):
            value = self.JSON
            return value if isinstance(value, AttrDict) else AttrDict()
        if content_type in (FORM_TYPE, MULTIPART_TYPE):
            return self.FORM
        return AttrDict()

    def set_data(self, data: Mapping[str, Any]) -> None:
        """Make ``data`` the body parameters (``DATA``), e.g. an XML-RPC call's arguments."""
        self._data = AttrDict(data)
        self._args = None

    def json(self) -> Any:
        """Decode the body as JSON (whatever the Content-Type); 400 when it is not."""
        if not self.body:
            return None
        value = self._decode_json()
        return AttrDict(value) if isinstance(value, dict) else value

    def _decode_json(self) -> Any:
        """The body decoded as JSON; 400 when it is not JSON or nests too deep."""
        try:
            return json_loads(self.body, self.max_json_depth)
        except JSONTooDeep as exc:
            raise HTTPError(400, f"JSON body nested deeper than {exc.max_depth} levels") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise HTTPError(400, f"invalid JSON body: {exc}") from None

    def form(self) -> AttrDict:
        """The body decoded as a url-encoded form (empty for other content types)."""
        return self.FORM

    def dict(self) -> AttrDict:
        """The body as a dict, when it is a form or a JSON object; else empty."""
        return self.DATA

    # -- merged parameters -------------------------------------------------

    @property
    def ARGS(self) -> AttrDict:  # noqa: N802 - spec name
        """Every parameter: URL, query string, body, then defaults for the rest."""
        if self._args is None:
            self._args = self.args_of(merge_args(self.PARAMS, self.query, self.DATA))
        return self._args

    def args_of(self, supplied: Mapping[str, Any]) -> AttrDict:
        """:attr:`ARGS` made from ``supplied`` (what :meth:`supplied` returns, computed
        by the caller already): the defaults, then ``supplied``; kept as ``ARGS``
        unless it was made already."""
        if self._args is None:
            merged = AttrDict(self.DEFAULT)
            merged.update(supplied)
            self._args = merged
        return self._args

    @property
    def args(self) -> AttrDict:
        """Alias of :attr:`ARGS` (spec: ``was.request.args``)."""
        return self.ARGS

    def supplied(self) -> dict[str, Any]:
        """Parameters the client gave (URL, query, body), without the defaults."""
        return merge_args(self.PARAMS, self.query, self.DATA)

    # -- uploads and security ------------------------------------------------

    def _read_multipart(self) -> dict[str, Any]:
        if self._body is not None:
            stream: Any = io.BytesIO(self._body)
            length: int | None = len(self._body)
        else:
            stream = self.env.get("wsgi.input")
            text = self.env.get("CONTENT_LENGTH") or ""
            try:
                length = int(text) if text else None
            except ValueError:
                raise HTTPError(400, "invalid Content-Length") from None
            if length is None and not self.env.get("wsgi.input_terminated"):
                return {}
        fields, files = parse_multipart(
            stream, self.env.get("CONTENT_TYPE", ""), length, self.max_body, self.upload_dir
        )
        self._uploads.extend(files)
        return fields

    def close(self) -> None:
        """Remove the uploaded files' temporary files that were not saved."""
        for upload in self._uploads:
            if not upload.saved:
                upload.remove()
        self._uploads.clear()

    def _security(self) -> Any:
        if self.security is None:
            raise RuntimeError("this request is not handled by an app (no security state)")
        return self.security

    @property
    def session(self) -> Any:
        """The cookie session (:class:`atila.sessions.SessionBox`); needs ``app.securekey``."""
        return self._security().session

    @property
    def mbox(self) -> Any:
        """The message box (:class:`atila.mbox.MessageBox`); needs ``app.securekey``."""
        return self._security().mbox

    @property
    def JWT(self) -> dict[str, Any]:  # noqa: N802 - spec name
        """Claims of the ``Authorization: Bearer`` JWT, or ``{"err": "<why>"}``."""
        return self._security().jwt  # type: ignore[no-any-return]

    @property
    def user(self) -> Any:
        """The authenticated user (None until authentication or a handler sets it)."""
        return self.security.user if self.security is not None else None

    @user.setter
    def user(self, value: Any) -> None:
        self._security().user = value

    @property
    def cookie(self) -> AttrDict:
        """The request's cookies as a dict."""
        if self.security is not None:
            return AttrDict(self.security.cookies)
        return AttrDict(parse_cookies(self.env.get("HTTP_COOKIE", "")))
