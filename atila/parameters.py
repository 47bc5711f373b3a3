"""Binding request parameters to handler arguments (spec: "Getting Parameters").

* :class:`HandlerSignature` — what a handler accepts, introspected once at route
  registration.
* :func:`parse_query`, :func:`merge_args`, :func:`bind_arguments` — per request:
  query string → dict, the ``was.request.args`` merge, handler keyword arguments.
* :class:`Inspection` (``@app.inspect`` / ``@app.require``) lives in
  :mod:`atila.inspection` and is re-exported here.

Binding differs from the original in one relaxed point: arguments bind by name,
so a handler may take body parameters without also naming the query-string ones.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from atila.errors import ParameterError
from atila.inspection import DATA_SCOPES, METHOD_SCOPES, Inspection, Repeated


@dataclass(frozen=True)
class HandlerSignature:
    """The parameters a handler accepts (built once per handler).

    ``names`` are the parameters that can be bound by keyword after ``was``;
    ``defaults`` maps those with a default to it; ``var_keyword`` names the
    ``**kwargs`` catch-all, if any; ``required`` lists names without a default.
    """

    wants_was: bool
    names: tuple[str, ...]
    defaults: dict[str, Any]
    var_keyword: str | None
    required: tuple[str, ...] = ()
    name_set: frozenset[str] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        if not self.name_set:
            object.__setattr__(self, "name_set", frozenset(self.names))
        if not self.required:
            missing = tuple(n for n in self.names if n not in self.defaults)
            object.__setattr__(self, "required", missing)

    @classmethod
    def from_function(cls, func: Callable[..., Any]) -> HandlerSignature:
        """Introspect ``func`` (following ``functools.wraps``); call at registration.

        Raises ``TypeError`` for positional-only parameters other than ``was``,
        which could not be bound by name.
        """
        params = list(inspect.signature(func).parameters.values())
        wants_was = bool(params) and params[0].name == "was"
        if wants_was:
            params = params[1:]
        names: list[str] = []
        defaults: dict[str, Any] = {}
        var_keyword: str | None = None
        for param in params:
            if param.kind is param.VAR_KEYWORD:
                var_keyword = param.name
            elif param.kind is param.VAR_POSITIONAL:
                continue
            elif param.kind is param.POSITIONAL_ONLY:
                raise TypeError(
                    f"{getattr(func, '__qualname__', func)!r}: positional-only parameter "
                    f"{param.name!r} cannot be bound from a request"
                )
            else:
                names.append(param.name)
                if param.default is not param.empty:
                    defaults[param.name] = param.default
        return cls(wants_was, tuple(names), defaults, var_keyword)


def parse_query(query_string: str) -> dict[str, Any]:
    """Parse a URL query string: repeated keys give a list (:class:`Repeated`), blank
    values stay ``""``."""
    if not query_string:
        return {}
    result: dict[str, Any] = {}
    # ``parse_qsl(query_string, keep_blank_values=True)``, inlined: the common
    # query (no ``+`` and no ``%``) needs no unquoting at all.
    for pair in query_string.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if "+" in key:
            key = key.replace("+", " ")
        if "%" in key:
            key = unquote(key)
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = unquote(value)
        if key in result:
            previous = result[key]
            if isinstance(previous, list):
                previous.append(value)
            else:
                result[key] = Repeated((previous, value))
        else:
            result[key] = value
    return result


def _join(first: Any, second: Any) -> Repeated:
    head = first if isinstance(first, list) else [first]
    tail = second if isinstance(second, list) else [second]
    return Repeated(head + tail)


def merge_args(url: Mapping[str, Any], query: Mapping[str, Any], body: Mapping[str, Any]) -> dict:
    """Merge route, query-string and body parameters (``was.request.args``).

    A name given by more than one origin becomes the list of its values (a
    :class:`Repeated`), except that a body (form/JSON) value replaces a
    query-string value of that name.
    """
    args = dict(url)
    for key, value in query.items():
        args[key] = _join(args[key], value) if key in args else value
    for key, value in body.items():
        if key in query:
            args[key] = _join(url[key], value) if key in url else value
        elif key in args:
            args[key] = _join(args[key], value)
        else:
            args[key] = value
    return args


def bind_arguments(
    sig: HandlerSignature,
    url: Mapping[str, Any],
    query: Mapping[str, Any],
    body: Mapping[str, Any],
) -> dict[str, Any]:
    """Keyword arguments to call a handler with (URL, then query, then body).

    Raises :class:`ParameterError` (400) for a name the handler does not take
    (unless it has ``**kwargs``) and for a missing argument without default.
    A handler that takes no parameters at all (``def index(was)``) binds
    nothing and refuses nothing: it reads ``was.request.ARGS`` itself, as the
    spec's ``@app.inspect("ARGS", a__gte=5) def index6(was)`` examples do.
    """
    if not sig.name_set and sig.var_keyword is None:
        return {}
    return bind_merged(sig, merge_args(url, query, body) if (query or body) else url)


def bind_merged(sig: HandlerSignature, merged: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`bind_arguments` for parameters merged already (``merge_args``'s result)."""
    names = sig.name_set
    catch_all = sig.var_keyword is not None
    if not names and not catch_all:
        return {}
    kwargs: dict[str, Any] = {}
    for key, value in merged.items():
        if key in names or (catch_all and not (sig.wants_was and key == "was")):
            kwargs[key] = value
        else:
            raise ParameterError(key, f"unexpected parameter: {key}")
    for name in sig.required:
        if name not in kwargs:
            raise ParameterError(name, f"missing parameter: {name}")
    return kwargs


__all__ = [
    "DATA_SCOPES",
    "HandlerSignature",
    "Inspection",
    "METHOD_SCOPES",
    "Repeated",
    "bind_arguments",
    "bind_merged",
    "merge_args",
    "parse_query",
]
