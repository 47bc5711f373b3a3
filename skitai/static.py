"""Static file responses, decided without doing any I/O on the socket.

This module owns everything about answering a request for a file under a
static root: the traversal guard (encoded ``..``, NUL, backslash, symlinks
leaving the root), index files and the trailing-slash redirect, the response
headers (``Content-Type``, ``ETag``, ``Last-Modified``, ``Accept-Ranges``),
conditional requests (RFC 9110 §13) and single byte ranges (RFC 9110 §14).

It is sans-I/O: :meth:`StaticFiles.prepare` returns a :class:`StaticResponse`
that names the file, the offset and the number of bytes to send; the server
sends them (``loop.sendfile``/``os.sendfile``).  Per request it does one
``realpath`` and one ``stat`` (plus the same again for an index file) and never
reads file content.
"""

from __future__ import annotations

import dataclasses
import mimetypes
import os
import re
import stat
from collections.abc import Iterable, Mapping
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from typing import NamedTuple
from urllib.parse import unquote

__all__ = ["StaticFiles", "StaticResponse", "fs_path"]

#: Methods that serve files; anything else gets ``405`` with this ``Allow`` value.
ALLOWED_METHODS = ("GET", "HEAD")
_ALLOW = ", ".join(ALLOWED_METHODS)

#: Media types (besides ``text/*``) that get ``; charset=utf-8``.
_CHARSET_TYPES = frozenset({"application/javascript", "application/json"})
#: ``mimetypes`` reports ``foo.css.gz`` as ``text/css`` + encoding ``gzip``;
#: we send such files as the compressed archive they are, never as text.
_ENCODING_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
}
_DEFAULT_TYPE = "application/octet-stream"

_ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
#: RFC 9110 names; Python 3.11's ``HTTPStatus`` still has the RFC 7233 wording for 416.
_REASONS = {HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE: "Range Not Satisfiable"}
#: Stand-in for range positions too long to be real offsets (and too long for ``int()``).
_HUGE = 1 << 62


def fs_path(wsgi_path: str) -> str:
    """A PEP 3333 path (decoded bytes as latin-1 characters) as a file system path string.

    ``"/caf\xc3\xa9"`` becomes ``"/café"``; bytes that are not UTF-8 are kept
    as surrogate escapes, so ``os`` functions see the original bytes.
    """
    return wsgi_path.encode("latin-1").decode("utf-8", "surrogateescape")


@dataclasses.dataclass(slots=True)
class StaticResponse:
    """What to answer: status line, headers and either a file slice or a small body.

    ``path`` is the absolute real path of the file to send (``None`` when there
    is no file body); the server sends ``length`` bytes starting at ``offset``.
    For ``HEAD`` the fields are the same as for ``GET`` and the server omits
    the body.  ``body`` holds short generated text (error messages) and is
    ``b""`` whenever ``path`` is set.
    """

    status: int
    reason: str
    headers: list[tuple[str, str]]
    path: str | None = None
    offset: int = 0
    length: int = 0
    body: bytes = b""


class _Located(NamedTuple):
    """A request path resolved inside the root."""

    real_path: str
    stat: os.stat_result
    name: str  # file name the media type is guessed from
    redirect: bool  # directory asked for without its trailing slash


class _Unsatisfiable:
    """Marker: the Range header is valid but selects no byte of the file."""


_UNSATISFIABLE = _Unsatisfiable()


class StaticFiles:
    """Serves files under one root directory.

    ``root`` is resolved once (``realpath``) at construction; a requested path
    whose real path is not inside it is answered ``404``.  Symlinks that stay
    inside the root are followed unless ``follow_symlinks_inside_root`` is
    false, in which case any symlink in the path is refused.  A directory is
    served through the first of ``index_files`` it contains; there are no
    directory listings.

    Ranges: only a single ``bytes`` range is honoured (``206``).  A Range
    header asking for several ranges gets the full ``200`` response:
    ``multipart/byteranges`` is not supported.  Range is honoured for ``GET``
    only (RFC 9110 §14.2), so ``HEAD`` always describes the full ``200``.
    """

    def __init__(
        self,
        root: str,
        *,
        index_files: Iterable[str] = ("index.html",),
        follow_symlinks_inside_root: bool = True,
    ) -> None:
        self.root = os.path.realpath(root)
        self.index_files = tuple(index_files)
        self.follow_symlinks_inside_root = follow_symlinks_inside_root
        self._root_prefix = self.root if self.root.endswith(os.sep) else self.root + os.sep
        mimetypes.init()  # read the system's type maps now, not on the first request

    def has_route(self, path: str) -> bool:
        """Return True when ``path`` (relative to the mount point) names a file we serve.

        That is an existing regular file inside the root, or a directory inside
        the root holding one of the index files (with or without the trailing
        slash; without it, :meth:`prepare` answers with a redirect).
        """
        return self._locate(path) is not None

    def has_wsgi_route(self, wsgi_path: str) -> bool:
        """:meth:`has_route` for a PEP 3333 path (decoded bytes as latin-1 characters).

        The mount table asks with such paths; file names are UTF-8 (see :func:`fs_path`).
        """
        return self.has_route(fs_path(wsgi_path))

    def prepare(self, method: str, path: str, headers: Mapping[str, str]) -> StaticResponse:
        """Decide the response to ``method path`` with request ``headers``.

        ``path`` is relative to the mount point and already percent-decoded
        once; ``headers`` maps lower-case header names to values.  Returns
        ``405`` for methods other than GET/HEAD, ``404`` for anything missing
        or refused, ``301`` for a directory without its trailing slash,
        ``304``/``412`` from the conditional headers, ``206``/``416`` from
        Range, otherwise ``200``.
        """
        if method not in ALLOWED_METHODS:
            return _text_response(HTTPStatus.METHOD_NOT_ALLOWED, [("Allow", _ALLOW)])
        located = self._locate(path)
        if located is None:
            return _text_response(HTTPStatus.NOT_FOUND)
        if located.redirect:
            return _response(
                HTTPStatus.MOVED_PERMANENTLY, [("Location", path + "/"), ("Content-Length", "0")]
            )

        st = located.stat
        etag = _make_etag(st)
        mtime = st.st_mtime_ns // 1_000_000_000
        validators = [("Last-Modified", formatdate(mtime, usegmt=True)), ("ETag", etag)]
        refused = _check_preconditions(headers, etag, mtime, validators)
        if refused is not None:
            return refused

        size = st.st_size
        content_type = ("Content-Type", _content_type(located.name))
        if method == "GET" and "range" in headers and _if_range_holds(headers, etag, mtime):
            selected = _parse_range(headers["range"], size)
            if isinstance(selected, _Unsatisfiable):
                return _text_response(
                    HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                    [("Content-Range", f"bytes */{size}")],
                )
            if selected is not None:
                offset, length = selected
                return _response(
                    HTTPStatus.PARTIAL_CONTENT,
                    [
                        content_type,
                        ("Content-Length", str(length)),
                        ("Content-Range", f"bytes {offset}-{offset + length - 1}/{size}"),
                        *validators,
                        ("Accept-Ranges", "bytes"),
                    ],
                    path=located.real_path,
                    offset=offset,
                    length=length,
                )
        return _response(
            HTTPStatus.OK,
            [content_type, ("Content-Length", str(size)), *validators, ("Accept-Ranges", "bytes")],
            path=located.real_path,
            length=size,
        )

    # -- resolution ---------------------------------------------------------

    def _locate(self, path: str) -> _Located | None:
        """Resolve ``path`` to a regular file inside the root, or None when refused."""
        if _is_unsafe(path):
            return None
        wanted = os.path.join(self.root, path.lstrip("/"))
        found = self._stat_inside(wanted)
        if found is None:
            return None
        real_path, st = found
        if stat.S_ISREG(st.st_mode):
            if path.endswith("/"):  # "/a.css/" names a directory that does not exist
                return None
            return _Located(real_path, st, os.path.basename(wanted), redirect=False)
        if not stat.S_ISDIR(st.st_mode):
            return None  # devices, FIFOs, sockets
        for index in self.index_files:
            index_found = self._stat_inside(os.path.join(real_path, index))
            if index_found is not None and stat.S_ISREG(index_found[1].st_mode):
                redirect = not path.endswith("/")
                return _Located(index_found[0], index_found[1], index, redirect=redirect)
        return None

    def _stat_inside(self, wanted: str) -> tuple[str, os.stat_result] | None:
        """``realpath`` + ``stat`` of ``wanted``; None when missing or outside the root."""
        try:
            real_path = os.path.realpath(wanted)
        except (OSError, ValueError):
            return None
        if real_path != self.root and not real_path.startswith(self._root_prefix):
            return None
        if not self.follow_symlinks_inside_root and real_path != os.path.normpath(wanted):
            return None
        try:
            return real_path, os.stat(real_path)
        except (OSError, ValueError):
            return None


# -- helpers ------------------------------------------------------------------


def _is_unsafe(path: str) -> bool:
    """True when ``path`` holds NUL, a backslash or a ``..`` segment, even encoded once more."""
    for candidate in (path, unquote(path)) if "%" in path else (path,):
        if "\x00" in candidate or "\\" in candidate:
            return True
        if ".." in candidate.split("/"):
            return True
    return False


def _response(
    status: HTTPStatus,
    headers: list[tuple[str, str]],
    *,
    path: str | None = None,
    offset: int = 0,
    length: int = 0,
) -> StaticResponse:
    reason = _REASONS.get(status, status.phrase)
    return StaticResponse(int(status), reason, headers, path, offset, length)


def _text_response(
    status: HTTPStatus, extra_headers: Iterable[tuple[str, str]] = ()
) -> StaticResponse:
    """A response whose body is the status phrase as plain text."""
    reason = _REASONS.get(status, status.phrase)
    body = reason.encode("ascii")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        *extra_headers,
    ]
    return StaticResponse(int(status), reason, headers, None, 0, len(body), body)


def _make_etag(st: os.stat_result) -> str:
    """Validator from (mtime_ns, size, inode): changes whenever the file is replaced or edited."""
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}-{st.st_ino:x}"'


def _content_type(name: str) -> str:
    media_type, encoding = mimetypes.guess_type(name)
    if encoding is not None:
        return _ENCODING_TYPES.get(encoding, _DEFAULT_TYPE)
    if media_type is None:
        return _DEFAULT_TYPE
    if media_type.startswith("text/") or media_type in _CHARSET_TYPES:
        return media_type + "; charset=utf-8"
    return media_type


def _parse_http_date(value: str) -> int | None:
    """Seconds since the epoch for an HTTP-date, or None when it is not one."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000": no zone information, HTTP means GMT
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return int(parsed.timestamp())
    except (OverflowError, OSError, ValueError):
        return None


def _entity_tags(value: str) -> list[tuple[bool, str]]:
    """``(weak, opaque-tag)`` pairs of an If-Match / If-None-Match list."""
    return [(bool(weak), tag) for weak, tag in _ENTITY_TAG.findall(value)]


def _check_preconditions(
    headers: Mapping[str, str],
    etag: str,
    mtime: int,
    validators: list[tuple[str, str]],
) -> StaticResponse | None:
    """Evaluate RFC 9110 §13.2.2 steps 1-4; a 412/304 response, or None to go on."""
    opaque = etag[1:-1]
    if_match = headers.get("if-match")
    if if_match is not None:
        if if_match.strip() != "*" and not any(
            not weak and tag == opaque for weak, tag in _entity_tags(if_match)
        ):
            return _text_response(HTTPStatus.PRECONDITION_FAILED)
    else:
        since = headers.get("if-unmodified-since")
        unmodified_since = _parse_http_date(since) if since is not None else None
        if unmodified_since is not None and mtime > unmodified_since:
            return _text_response(HTTPStatus.PRECONDITION_FAILED)

    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*" or any(
            tag == opaque for _, tag in _entity_tags(if_none_match)
        ):
            return _response(HTTPStatus.NOT_MODIFIED, list(validators))
        return None
    since = headers.get("if-modified-since")
    modified_since = _parse_http_date(since) if since is not None else None
    if modified_since is not None and mtime <= modified_since:
        return _response(HTTPStatus.NOT_MODIFIED, list(validators))
    return None


def _if_range_holds(headers: Mapping[str, str], etag: str, mtime: int) -> bool:
    """True when there is no If-Range or it still matches (strong comparison)."""
    value = headers.get("if-range")
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag  # a weak tag never matches strongly
    return _parse_http_date(value) == mtime


def _position(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) < 19 else _HUGE


def _parse_range(value: str, size: int) -> tuple[int, int] | _Unsatisfiable | None:
    """``(offset, length)`` for a single byte range, the unsatisfiable marker, or None.

    None means "send the full representation": the header is malformed,
    uses another unit, asks for several ranges, or asks for a suffix of an
    empty file.
    """
    unit, equals, range_set = value.partition("=")
    if not equals or unit.lower() != "bytes":
        return None
    specs = [spec.strip() for spec in range_set.split(",") if spec.strip()]
    if len(specs) != 1:
        return None
    match = _RANGE_SPEC.fullmatch(specs[0])
    if match is None:
        return None
    first, last = match.groups()
    if first:
        start = _position(first)
        end = _position(last) if last else size - 1
        if end < start:
            return None if last else _UNSATISFIABLE
        if start >= size:
            return _UNSATISFIABLE
        end = min(end, size - 1)
        return start, end - start + 1
    if not last:
        return None
    suffix = _position(last)
    if suffix == 0:
        return _UNSATISFIABLE
    if size == 0:
        return None
    length = min(suffix, size)
    return size - length, length
