"""The WSGI container: PEP 3333 environ, ``start_response`` and response bodies.

``WSGIContainer.call`` runs on a handler thread.  A list or tuple response is
sent in one write; other iterables stream chunk by chunk with flow control;
``wsgi.file_wrapper`` responses go out by ``sendfile`` on the event loop.  The
iterable's ``close()`` is always called.  Errors before the head is sent become
a 500; after it, the connection is dropped (the response cannot be fixed).
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any
from urllib.parse import unquote_to_bytes

from ..types import Environ, ExcInfo, WSGIApp
from .errors import ClientDisconnected, ProtocolError
from .exchange import Exchange

logger = logging.getLogger("skitai.wsgi")

_EMPTY = io.BytesIO(b"")
#: Header names whose repeated values are joined with "; " instead of ", ".
_COOKIE = b"cookie"


class FileWrapper:
    """``wsgi.file_wrapper``: lets the server send a file by ``sendfile``."""

    def __init__(self, filelike: IO[bytes], blksize: int = 65536) -> None:
        self.filelike = filelike
        self.blksize = blksize

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        while True:
            data = read(self.blksize)
            if not data:
                return
            yield data

    def close(self) -> None:
        """Close the wrapped file."""
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


def build_environ(
    exchange: Exchange, script_name: str, path_info: str, multiprocess: bool
) -> Environ:
    """Build the PEP 3333 environ of ``exchange`` for an app mounted at ``script_name``."""
    server_name, server_port = exchange.server
    client, client_port = exchange.client
    body = exchange.body
    if body is None:
        stream: Any = _EMPTY
    elif body.complete:
        stream = io.BytesIO(body.take_all())
    else:
        stream = body
    environ: Environ = {
        "REQUEST_METHOD": exchange.method,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": exchange.query.decode("latin-1"),
        "REQUEST_URI": exchange.target.decode("latin-1"),
        "RAW_URI": exchange.target.decode("latin-1"),
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": "HTTP/" + exchange.version,
        "REMOTE_ADDR": client,
        "REMOTE_PORT": str(client_port),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": exchange.scheme,
        "wsgi.input": stream,
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": FileWrapper,
    }
    if exchange.content_length is not None:
        environ["CONTENT_LENGTH"] = str(exchange.content_length)
    for name, value in exchange.headers:
        if name == b"content-type":
            environ["CONTENT_TYPE"] = value.decode("latin-1")
            continue
        if name == b"content-length":
            continue
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if key in environ:
            sep = "; " if name == _COOKIE else ", "
            environ[key] = environ[key] + sep + text
        else:
            environ[key] = text
    return environ


def split_path(exchange: Exchange) -> str:
    """The request path, percent-decoded, as a PEP 3333 latin-1 string."""
    path = exchange.path
    if b"%" in path:
        path = unquote_to_bytes(path)
    return path.decode("latin-1")


class _Response:
    """``start_response`` state for one call."""

    __slots__ = ("status", "headers", "sent", "exchange")

    def __init__(self, exchange: Exchange) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.sent = False
        self.exchange = exchange

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Any:
        if exc_info is not None:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response called twice without exc_info")
        if not isinstance(status, str) or len(status) < 4 or not status[:3].isdigit():
            raise ValueError(f"invalid WSGI status {status!r}")
        self.status = status
        self.headers = headers
        return self.write

    def write(self, data: bytes) -> None:
        """The PEP 3333 ``write()`` callable (legacy streaming)."""
        if self.status is None:
            raise AssertionError("write() before start_response()")
        self.send_head()
        if data:
            self.exchange.threadsafe_write(data)

    def send_head(self, length: int | None = None) -> None:
        if not self.sent:
            assert self.status is not None
            self.sent = True
            self.exchange.threadsafe_start(self.status, self.headers, length)


class WSGIContainer:
    """Calls WSGI applications for exchanges, on a handler thread."""

    def __init__(self, multiprocess: bool) -> None:
        self.multiprocess = multiprocess

    def call(self, exchange: Exchange, app: WSGIApp, script_name: str, path_info: str) -> None:
        """Run ``app`` for ``exchange`` and send its response (handler thread)."""
        if exchange.closed:
            exchange.threadsafe_abort()
            return
        response = _Response(exchange)
        result: Iterable[bytes] | None = None
        try:
            environ = build_environ(exchange, script_name, path_info, self.multiprocess)
            result = app(environ, response.start_response)
            self._send(exchange, response, result)
        except ClientDisconnected:
            exchange.threadsafe_abort()
        except ProtocolError as error:
            self._fail(exchange, response, error.status, str(error), log=False)
        except Exception:
            logger.exception("error in WSGI application %s", _app_name(app))
            self._fail(exchange, response, "500 Internal Server Error", "Internal Server Error")
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    logger.exception("error closing WSGI response of %s", _app_name(app))

    def _send(self, exchange: Exchange, response: _Response, result: Iterable[bytes]) -> None:
        if isinstance(result, FileWrapper) and not response.sent:
            if self._send_file(exchange, response, result):
                return
        if isinstance(result, (list, tuple)) and not response.sent:
            if response.status is None:
                raise AssertionError("WSGI application did not call start_response")
            body = b"".join(result)
            exchange.threadsafe_respond(response.status, response.headers, body)
            return
        for chunk in result:
            if not chunk:
                continue
            response.send_head()
            exchange.threadsafe_write(chunk)
        if response.status is None:
            raise AssertionError("WSGI application did not call start_response")
        if not response.sent:
            exchange.threadsafe_respond(response.status, response.headers, b"")
        else:
            exchange.threadsafe_end()

    def _send_file(self, exchange: Exchange, response: _Response, wrapper: FileWrapper) -> bool:
        """Send a ``wsgi.file_wrapper`` by sendfile; False when it is not a real file."""
        filelike = wrapper.filelike
        try:
            fd = filelike.fileno()
            offset = filelike.tell()
        except (AttributeError, OSError, io.UnsupportedOperation):
            return False
        size = os.fstat(fd).st_size
        count = max(0, size - offset)
        assert response.status is not None
        for name, value in response.headers:
            if name.lower() == "content-length":
                count = min(count, int(value))
        response.sent = True
        exchange.threadsafe_start(response.status, response.headers, count, False)
        # The loop owns the file now; the wrapper's close must not close it early.
        wrapper.filelike = _Detached()
        exchange.threadsafe_send_file(filelike, offset, count)
        return True

    def _fail(
        self, exchange: Exchange, response: _Response, status: str, message: str, log: bool = True
    ) -> None:
        if response.sent:
            exchange.threadsafe_abort()
            return
        body = (message + "\n").encode()
        headers = [("Content-Type", "text/plain; charset=utf-8")]
        if status.startswith(("413", "408", "400")):
            headers.append(("Connection", "close"))
        exchange.threadsafe_respond(status, headers, body)


class _Detached:
    """Stands in for a file handed over to the event loop."""

    def close(self) -> None:
        pass


def _app_name(app: object) -> str:
    return getattr(app, "__qualname__", None) or type(app).__qualname__
