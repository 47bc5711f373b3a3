"""XML-RPC over Atila routes (spec "Implementing XMLRPC Service").

Ordinary handlers double as XML-RPC methods: a ``POST`` with a ``text/xml``
``<methodCall>`` body to ``/rpc`` calling ``add(10000, 5000)`` is routed to
``/rpc/add`` (dots in the method name become slashes, so ``math.add`` is
``/rpc/math/add``; at the mount point itself, ``add`` is ``/add``).  The call's
positional parameters fill the handler's parameters in order.  The return
value is sent back as a ``<methodResponse>``; an error becomes an XML-RPC
fault whose ``faultCode`` is the HTTP status code.

A ``text/xml`` POST whose target route does not exist is left to ordinary
routing (a handler may want the raw XML).
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Mapping
from typing import Any
from xml.parsers.expat import ExpatError

__all__ = ["XMLRPC_TYPES", "dump_fault", "dump_result", "parse_call", "target_path"]

#: Content types that mark a POST as a possible XML-RPC call.
XMLRPC_TYPES = frozenset({"text/xml", "application/xml"})

Headers = list[tuple[str, str]]


def parse_call(body: bytes) -> tuple[str, tuple[Any, ...]] | None:
    """``(method_name, params)`` of an XML-RPC call body, or None when it is not one."""
    if b"methodCall" not in body[:512]:
        return None
    try:
        params, method = xmlrpc.client.loads(body, use_builtin_types=True)
    except (ExpatError, xmlrpc.client.ResponseError, ValueError, TypeError):
        return None
    if not method:
        return None
    return method, tuple(params)


def target_path(path: str, method: str) -> str:
    """The route path an XML-RPC ``method`` called at ``path`` maps to."""
    return path.rstrip("/") + "/" + method.replace(".", "/")


def _plain(value: Any) -> Any:
    """Values ``xmlrpc.client`` can marshal (dict subclasses become dicts)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def dump_result(value: Any) -> tuple[Headers, bytes]:
    """Headers and body of a ``<methodResponse>`` carrying ``value``.

    Raises ``TypeError`` when ``value`` cannot be marshalled.
    """
    body = xmlrpc.client.dumps((_plain(value),), methodresponse=True, allow_none=True)
    return _xml(body.encode("utf-8"))


def dump_fault(code: int, message: str) -> tuple[Headers, bytes]:
    """Headers and body of an XML-RPC fault response."""
    body = xmlrpc.client.dumps(xmlrpc.client.Fault(code, message), methodresponse=True)
    return _xml(body.encode("utf-8"))


def _xml(body: bytes) -> tuple[Headers, bytes]:
    return [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))], body
