"""File uploads: ``multipart/form-data`` bodies (spec "File Upload").

The body is read from ``wsgi.input`` in chunks and fed to
``python_multipart``'s streaming parser; each file part goes straight to a
temporary file (``app.config.UPLOAD_TEMP_DIR`` or the system's), so an upload
is never held whole in memory.  More than ``MAX_UPLOAD_SIZE`` bytes answers
413 (before reading anything when ``Content-Length`` says so) and the
temporary files are removed.  Text fields are limited to
:data:`MAX_FIELD_SIZE` bytes each and a body to :data:`MAX_PARTS` parts.

A file field's value is an :class:`UploadedFile`; its ``name`` is the
client's file name with any path removed and unsafe characters replaced.
Temporary files not ``save()``-d are removed when the request ends.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from typing import IO, Any

from python_multipart.exceptions import FormParserError, MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from atila.errors import HTTPError, reading_body
from atila.inspection import Repeated

__all__ = ["MAX_FIELD_SIZE", "MAX_PARTS", "UploadedFile", "parse_multipart", "safe_filename"]

MAX_FIELD_SIZE = 1024 * 1024
MAX_PARTS = 1000
CHUNK_SIZE = 64 * 1024
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


def safe_filename(name: str | None, default: str = "upload") -> str:
    """``"../../etc/passwd"`` -> ``"passwd"``: no directories, no control or reserved characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip().lstrip(".").strip()
    while len(base.encode("utf-8")) > 255:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:-1] + dot + ext) if stem and len(ext) < 16 else base[:-1]
    return base or default


class UploadedFile:
    """An uploaded file, spooled to a temporary file.

    ``path`` (where it is now), ``name`` (the client's file name, made safe),
    ``size`` (bytes), ``mimetype`` (as the client said).
    """

    def __init__(self, path: str, name: str, size: int, mimetype: str) -> None:
        self.path = path
        self.name = name
        self.size = size
        self.mimetype = mimetype
        self.saved = False

    def __repr__(self) -> str:
        return f"<UploadedFile {self.name!r} {self.size} bytes {self.mimetype}>"

    def __bool__(self) -> bool:
        return True

    def read(self) -> bytes:
        """The whole content."""
        with open(self.path, "rb") as f:
            return f.read()

    def save(self, into: str, name: str | None = None, mkdir: bool = False, dup: str = "u") -> str:
        """Move the file into directory ``into`` as ``name`` (default: :attr:`name`).

        ``dup="u"`` makes the name unique (``a.txt``, ``a-1.txt`` ...), ``"o"``
        overwrites.  The name is made safe, so the file always lands directly
        in ``into``.  Returns the new path (also :attr:`path`).
        """
        if dup not in ("u", "o"):
            raise ValueError("dup must be 'u' (make unique) or 'o' (overwrite)")
        directory = os.path.abspath(into)
        if mkdir:
            os.makedirs(directory, exist_ok=True)
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"no such directory: {directory}")
        filename = safe_filename(name or self.name)
        target = os.path.join(directory, filename)
        if dup == "u":
            target = self._reserve(directory, filename)
        self._move(target)
        self.path, self.saved = target, True
        return target

    @staticmethod
    def _reserve(directory: str, filename: str) -> str:
        stem, dot, ext = filename.rpartition(".")
        if not stem:
            stem, dot, ext = filename, "", ""
        for n in range(0, 10000):
            candidate = filename if n == 0 else f"{stem}-{n}{dot}{ext}"
            path = os.path.join(directory, candidate)
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                continue
            return path
        raise FileExistsError(f"cannot find a free name for {filename!r} in {directory}")

    def _move(self, target: str) -> None:
        try:
            os.replace(self.path, target)
        except OSError:  # another file system: copy next to the target, then rename
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".atila-upload-")
            os.close(fd)
            shutil.copyfile(self.path, tmp)
            os.replace(tmp, target)
            os.unlink(self.path)

    def remove(self) -> None:
        """Delete the file (where it is now)."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class _Part:
    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.name: str | None = None
        self.filename: str | None = None
        self.content_type = "application/octet-stream"
        self.file: IO[bytes] | None = None
        self.path: str | None = None
        self.buffer = bytearray()
        self.size = 0


class _MultipartReader:
    """Parser callbacks: fields into memory, files into temporary files."""

    def __init__(self, tmpdir: str | None) -> None:
        self.tmpdir = tmpdir
        self.fields: list[tuple[str, Any]] = []
        self.files: list[UploadedFile] = []
        self.temp_paths: list[str] = []
        self.part: _Part | None = None
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.parts = 0
        self.ended = False

    def callbacks(self) -> dict[str, Callable[..., None]]:
        def on_header_field(data: bytes, start: int, end: int) -> None:
            self.header_field += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            self.header_value += data[start:end]

        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise HTTPError(413, f"more than {MAX_PARTS} form parts")
        self.part = _Part()

    def on_header_end(self) -> None:
        assert self.part is not None
        name = self.header_field.decode("latin-1").strip().lower()
        # latin-1 keeps every byte; parameters are decoded as UTF-8 once parsed
        self.part.headers[name] = self.header_value.decode("latin-1").strip()
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        part = self.part
        assert part is not None
        disposition, params = parse_options_header(part.headers.get("content-disposition", ""))
        if disposition != b"form-data" or b"name" not in params:
            raise HTTPError(400, "multipart part without a form-data name")
        part.name = _param_text(params[b"name"])
        if b"filename" in params:
            part.filename = _param_text(params[b"filename"])
            part.content_type = part.headers.get("content-type") or part.content_type
            fd, part.path = tempfile.mkstemp(dir=self.tmpdir, prefix="atila-upload-")
            self.temp_paths.append(part.path)
            part.file = os.fdopen(fd, "wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        assert part is not None
        part.size += end - start
        if part.file is not None:
            part.file.write(data[start:end])
        elif part.size > MAX_FIELD_SIZE:
            raise HTTPError(413, f"form field {part.name!r} larger than {MAX_FIELD_SIZE} bytes")
        else:
            part.buffer += data[start:end]

    def on_part_end(self) -> None:
        part, self.part = self.part, None
        assert part is not None and part.name is not None
        if part.file is None:
            self.fields.append((part.name, part.buffer.decode("utf-8", "replace")))
            return
        part.file.close()
        assert part.path is not None
        if not part.filename and part.size == 0:  # an empty file input
            self.fields.append((part.name, None))
            _unlink_quietly(part.path)
            return
        upload = UploadedFile(part.path, safe_filename(part.filename), part.size, part.content_type)
        self.files.append(upload)
        self.fields.append((part.name, upload))

    def on_end(self) -> None:
        self.ended = True

    def abort(self) -> None:
        """Close and delete every temporary file."""
        if self.part is not None and self.part.file is not None:
            self.part.file.close()
        for path in self.temp_paths:
            _unlink_quietly(path)


def _param_text(raw: bytes) -> str:
    """A header parameter's text: browsers and HTTP libraries send UTF-8 (RFC 7578 4.2);
    anything that is not valid UTF-8 is read as latin-1 (older clients)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _boundary(content_type: str) -> bytes:
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise HTTPError(400, "multipart body without a valid boundary")
    return boundary


def parse_multipart(
    stream: Any, content_type: str, content_length: int | None, max_size: int,
    tmpdir: str | None = None,
) -> tuple[dict[str, Any], list[UploadedFile]]:  # fmt: skip
    """Read a multipart body from ``stream``: ``(fields, files)``.

    Repeated field names give lists.  Raises ``HTTPError`` 400 (malformed)
    or 413 (over ``max_size``), with every temporary file removed.
    """
    if content_length is not None and content_length > max_size:
        raise HTTPError(413, f"request body larger than {max_size} bytes")
    reader = _MultipartReader(tmpdir)
    try:
        parser = MultipartParser(_boundary(content_type), reader.callbacks())  # type: ignore[arg-type]
        received = 0
        remaining = content_length
        while remaining is None or remaining > 0:
            size = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
            with reading_body():
                chunk = stream.read(size)
            if not chunk:
                break
            received += len(chunk)
            if received > max_size:
                raise HTTPError(413, f"request body larger than {max_size} bytes")
            if remaining is not None:
                remaining -= len(chunk)
            parser.write(chunk)
        parser.finalize()
        if not reader.ended:
            raise HTTPError(400, "truncated multipart body")
    except (MultipartParseError, FormParserError) as exc:
        reader.abort()
        raise HTTPError(400, f"malformed multipart body: {exc}") from None
    except BaseException:
        reader.abort()
        raise
    fields: dict[str, Any] = {}
    for name, value in reader.fields:
        if name in fields:
            existing = fields[name]
            # a Repeated: rules expecting one value say "given more than once"
            fields[name] = Repeated(
                [*existing, value] if isinstance(existing, list) else [existing, value]
            )
        else:
            fields[name] = value
    return fields, reader.files
