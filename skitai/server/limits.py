"""Limits on the parts of a request that llhttp parses without bounds.

llhttp (through ``httptools``) skips chunk extensions without a size limit
and hands over trailer fields however many and however large they are.  The
protocol keeps those within ``Config`` limits with a sans-I/O meter fed the
same bytes and parser callbacks: nothing here touches a socket, so any HTTP/1.1
protocol (the WSGI engine today, an ASGI one later) applies the same limits.

How positions are known without llhttp reporting offsets: llhttp requires CRLF
line ends (a bare LF is an error), so a chunk-size line ends at the first LF
after it begins; chunk data comes contiguously through ``on_body``; and the
protocol feeds its input in pieces cut right after each blank line
(:func:`blank_line_ends`), so a request head, and with it any chunked body's
first chunk-size line, ends exactly at the end of a piece.
"""

from __future__ import annotations

from .errors import BadRequest, HeadersTooLarge

#: The four bytes that end a request head (and a chunked body's trailer section).
BLANK_LINE = b"\r\n\r\n"
#: Characters of a chunk size (RFC 9112 §7.1: ``chunk-size = 1*HEXDIG``).
_HEX_DIGITS = b"0123456789abcdefABCDEF"
#: Most hex digits in a chunk size: 16 hold any size llhttp accepts (64 bits);
#: more are leading zeros, which would make a chunk-size line of any length.
MAX_SIZE_DIGITS = 16
#: Leading bytes of a chunk-size line kept to read the size.
_SIZE_PREFIX = MAX_SIZE_DIGITS + 4


def blank_line_ends(tail: bytes, data: bytes) -> list[int]:
    """Offsets in ``data`` right after each ``CRLF CRLF``, then ``len(data)``.

    ``tail`` is the last three bytes received before ``data``: a blank line
    split between two reads ends inside ``data`` and is found too.  Feeding
    ``data`` cut at these offsets makes every request head end a piece.
    """
    ends: list[int] = []
    if tail:
        edge = (tail + data[:3]).find(BLANK_LINE)
        if edge >= 0:
            ends.append(edge + 4 - len(tail))
    found = data.find(BLANK_LINE)
    while found >= 0:
        ends.append(found + 4)
        found = data.find(BLANK_LINE, found + 4)
    if not ends or ends[-1] != len(data):
        ends.append(len(data))
    return ends


class ChunkedBodyMeter:
    """Measures the framing of one chunked request body while llhttp parses it.

    Raises :class:`BadRequest` once the chunk extensions of the body (the
    ``;name=value`` after each chunk size) together exceed ``max_extensions``
    bytes, and :class:`HeadersTooLarge` once its trailer section exceeds
    ``max_trailer_size`` bytes or ``max_trailer_fields`` fields.  The protocol
    calls :meth:`start_piece`/:meth:`end_piece` around each ``feed_data`` and
    forwards the chunk callbacks; the meter is made at ``on_headers_complete``,
    which falls at the end of a piece.
    """

    __slots__ = (
        "max_extensions",
        "max_trailer_size",
        "max_trailer_fields",
        "_piece",
        "_cursor",
        "_state",
        "_line",
        "_prefix",
        "_extensions",
        "_trailer_size",
        "_trailer_fields",
    )

    #: states: in a chunk-size line, in chunk data (or its CRLF), in the trailer section
    LINE, DATA, TRAILERS = range(3)

    def __init__(self, max_extensions: int, max_trailer_size: int, max_trailer_fields: int) -> None:
        self.max_extensions = max_extensions
        self.max_trailer_size = max_trailer_size
        self.max_trailer_fields = max_trailer_fields
        self._piece = b""
        #: how far llhttp has got in the current piece, as far as the meter knows
        self._cursor = 0
        self._state = self.LINE
        #: bytes of the current chunk-size line so far, and its first bytes
        self._line = 0
        self._prefix = b""
        #: extension bytes of the lines already complete
        self._extensions = 0
        self._trailer_size = 0
        self._trailer_fields = 0

    # -- around each feed ---------------------------------------------------------------
    def start_piece(self, piece: bytes) -> None:
        """``piece`` is about to be fed to the parser."""
        self._piece = piece
        self._cursor = 0

    def end_piece(self) -> None:
        """The parser has consumed the whole piece: count what is still open."""
        end = len(self._piece)
        if self._state == self.LINE:
            self._take_line(end)
        elif self._state == self.TRAILERS:
            self._trailer_size += end - self._cursor
            self._cursor = end
            if self._trailer_size > self.max_trailer_size:
                raise HeadersTooLarge(f"trailer section larger than {self.max_trailer_size} bytes")
        self._piece = b""

    # -- parser callbacks ------------------------------------------------------------------
    def chunk_header(self) -> None:
        """``on_chunk_header``: the chunk-size line ended at the next LF."""
        newline = self._piece.find(b"\n", self._cursor)
        self._take_line(len(self._piece) if newline < 0 else newline + 1, complete=True)
        self._extensions += self._line_extensions(complete=True)
        digits = self._prefix[: self._digits()]
        self._state = self.TRAILERS if digits and not digits.strip(b"0") else self.DATA

    def body(self, size: int) -> None:
        """``on_body``: ``size`` bytes of chunk data, contiguous from the cursor."""
        self._cursor += size

    def chunk_complete(self) -> None:
        """``on_chunk_complete``: the CRLF after the data ended; a size line begins."""
        if self._state != self.DATA:
            return  # the last chunk: the message is complete
        newline = self._piece.find(b"\n", self._cursor)
        self._cursor = len(self._piece) if newline < 0 else newline + 1
        self._state = self.LINE
        self._line = 0
        self._prefix = b""

    def trailer(self) -> None:
        """``on_header`` after the body: one more trailer field."""
        self._trailer_fields += 1
        if self._trailer_fields > self.max_trailer_fields:
            raise HeadersTooLarge(f"more than {self.max_trailer_fields} trailer fields")

    # -- chunk-size lines --------------------------------------------------------------------
    def _take_line(self, end: int, complete: bool = False) -> None:
        """Count the piece's bytes up to ``end`` as part of the current chunk-size line."""
        taken = self._piece[self._cursor : end]
        if len(self._prefix) < _SIZE_PREFIX:
            self._prefix += taken[: _SIZE_PREFIX - len(self._prefix)]
        self._line += len(taken)
        self._cursor = end
        if self._digits() > MAX_SIZE_DIGITS:
            raise BadRequest(f"chunk size longer than {MAX_SIZE_DIGITS} hex digits")
        if not complete and taken.endswith(b"\r"):
            in_line = self._line_extensions() - 1  # the CR of the line end
        else:
            in_line = self._line_extensions(complete)
        if self._extensions + in_line > self.max_extensions:
            raise BadRequest(f"chunk extensions larger than {self.max_extensions} bytes")

    def _digits(self) -> int:
        """Length of the chunk size at the start of the current line (as far as it is known)."""
        return len(self._prefix) - len(self._prefix.lstrip(_HEX_DIGITS))

    def _line_extensions(self, complete: bool = False) -> int:
        """Bytes of the current line after its chunk size (a complete line's CRLF excluded)."""
        return self._line - self._digits() - (2 if complete else 0)


__all__ = ["BLANK_LINE", "MAX_SIZE_DIGITS", "ChunkedBodyMeter", "blank_line_ends"]
