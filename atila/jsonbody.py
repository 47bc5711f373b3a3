"""Decoding JSON a client sent, with a nesting-depth limit.

``json.loads`` recurses once per nesting level, so ``[[[[...]]]]`` 100,000
levels deep raises ``RecursionError`` (a 500) instead of a clear 400. :func:`loads`
measures the depth first, in one linear pass over the brackets and quotes only
(skipped altogether when the text has too few brackets to be that deep), and
refuses deeper text with :class:`JSONTooDeep`, a ``ValueError``.

The limit of a request body is ``app.config.MAX_JSON_DEPTH`` (default
:data:`MAX_JSON_DEPTH`, 100 levels, the default ``max_nesting`` of Ruby's
JSON; orjson and simdjson stop at 1024); JSON inside a parameter value
(``dicts``, ``data___key`` rules of ``@app.inspect``) uses the default.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "JSONTooDeep", "loads", "nesting_exceeds"]

#: Default deepest nesting of arrays and objects accepted in JSON from a client.
MAX_JSON_DEPTH = 100

# Quotes, escapes (so that an escaped quote does not end a string) and brackets.
_BYTE_TOKENS = re.compile(rb'\\.|["\[\]{}]', re.DOTALL)


class JSONTooDeep(ValueError):
    """JSON nested deeper than the limit."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels")
        self.max_depth = max_depth


def nesting_exceeds(data: bytes | str, max_depth: int) -> bool:
    """Whether the arrays/objects of JSON text ``data`` nest deeper than ``max_depth``.

    Brackets inside strings do not count. Text that is not JSON gets an answer
    too (``json.loads`` rejects it afterwards).
    """
    if isinstance(data, str):
        if data.count("[") + data.count("{") <= max_depth:  # cannot be that deep
            return False
        data = data.encode("utf-8", "surrogatepass")
    elif data.count(b"[") + data.count(b"{") <= max_depth:
        return False
    depth = 0
    in_string = False
    for match in _BYTE_TOKENS.finditer(data):
        token = match.group()
        if token == b'"':
            in_string = not in_string
        elif in_string or len(token) > 1:  # a bracket in a string, or an escape
            continue
        elif token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def loads(data: bytes | bytearray | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads(data)``, refusing nesting deeper than ``max_depth`` (:class:`JSONTooDeep`)."""
    if nesting_exceeds(data if isinstance(data, str) else bytes(data), max_depth):
        raise JSONTooDeep(max_depth)
    return json.loads(data)
