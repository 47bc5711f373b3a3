"""What the app knows about one handler function, and how it is called.

An :class:`Endpoint` is made once per handler function, the first time a
decorator (``@app.route``, ``@app.inspect``, ``@app.run_before`` ...) touches
it: the introspected :class:`~atila.parameters.HandlerSignature`, its
``@app.inspect`` rules and its autoruns.  :func:`call_endpoint` is the
per-request path: inspections, argument binding, autoruns, the call;
:func:`pipe_endpoint` is ``was.pipe``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from atila.annotations import TypedParameters, typed_parameters
from atila.hooks import Hook, run_autoruns
from atila.parameters import HandlerSignature, Inspection, bind_arguments, bind_merged, merge_args

__all__ = ["Endpoint", "call_endpoint", "describe_rules", "pipe_endpoint"]


def _jsonable(value: Any) -> Any:
    """A JSON-friendly description of an inspection rule value."""
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, re.Pattern):
        return value.pattern
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def describe_rules(scope: str, rules: Mapping[str, Any]) -> dict[str, Any]:
    """``{"scope": "ARGS", "ints": ["id"], ...}`` for ``expose_spec``."""
    described = {"scope": scope}
    described.update({k: _jsonable(v) for k, v in rules.items() if v is not None})
    return described


@dataclass(eq=False)
class Endpoint:
    """A handler function with its signature, inspections and autoruns."""

    func: Callable[..., Any]
    signature: HandlerSignature
    inspections: list[Inspection] = field(default_factory=list)
    #: the ``@app.inspect`` arguments, for ``expose_spec``
    rules: list[dict[str, Any]] = field(default_factory=list)
    #: ``(scope, rules)`` of each ``@app.inspect`` as given, for the OpenAPI document
    inspected: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    before: list[Hook] = field(default_factory=list)
    after: list[Hook] = field(default_factory=list)
    #: ``(rank, guard(was))`` permission checks (see atila.permissions), run first
    guards: list[tuple[int, Hook]] = field(default_factory=list)
    #: converters of the annotated parameters (``limit: int``), None without any
    typed: TypedParameters | None = None

    @classmethod
    def of(cls, func: Callable[..., Any]) -> Endpoint:
        """Introspect ``func`` (once): its signature and its parameters' annotations."""
        signature = HandlerSignature.from_function(func)
        return cls(
            func, signature, typed=typed_parameters(func, signature.names, signature.defaults)
        )

    def add_inspection(self, inspection: Inspection, rules: dict[str, Any]) -> None:
        """Attach one ``@app.inspect``; decorators run bottom-up, so keep source order."""
        self.inspections.insert(0, inspection)
        self.rules.insert(0, describe_rules(inspection.scope, rules))
        self.inspected.insert(0, (inspection.scope, rules))

    def invoke(self, was: Any, kwargs: dict[str, Any]) -> Any:
        """Call the function (with ``was`` first when its first parameter is named so)."""
        if self.signature.wants_was:
            return self.func(was, **kwargs)
        return self.func(**kwargs)


def _scope_params(request: Any, source: str, supplied: dict[str, Any]) -> Mapping[str, Any]:
    if source == "ARGS":
        return supplied
    if source == "URL":
        return request.URL
    if source == "FORM":
        return request.FORM
    if source == "JSON":
        value = request.JSON
        return value if isinstance(value, Mapping) else {}
    return request.DATA


def _inspect(request: Any, endpoint: Endpoint, supplied: dict[str, Any]) -> dict[str, Any]:
    """Run the inspections that apply to the method; return all converted values."""
    converted: dict[str, Any] = {}
    method = request.method
    for inspection in endpoint.inspections:
        only = inspection.method
        if only is None or only == method:
            params = _scope_params(request, inspection.source, supplied)
            converted.update(inspection.check(params))
    return converted


def call_endpoint(was: Any, endpoint: Endpoint) -> Any:
    """Inspect, bind and call ``endpoint`` for ``was.request``; return the handler's result.

    Converted values (``ints=["limit"]`` makes ``"10"`` into ``10``) reach both
    the handler's arguments and ``was.request.ARGS``.  Raises
    :class:`~atila.errors.ParameterError` (400) for bad parameters.
    """
    request = was.request
    for _, guard in endpoint.guards:
        content = guard(was)
        if content is not None:
            return content
    body = request.DATA
    query = request.query
    params = request.PARAMS
    # merged once: for the inspections, the handler's arguments and ARGS
    supplied = merge_args(params, query, body) if (query or body) else params
    converted: dict[str, Any] = {}
    if endpoint.inspections:
        converted = _inspect(request, endpoint, supplied)
    kwargs = bind_merged(endpoint.signature, supplied)
    if converted:
        for name, value in converted.items():
            if name in kwargs:
                kwargs[name] = value
    if endpoint.typed is not None:
        converted.update(endpoint.typed.convert(kwargs))
    if converted:
        request.args_of(supplied).update(converted)
    if not (endpoint.before or endpoint.after):
        return endpoint.invoke(was, kwargs)
    return run_autoruns(was, endpoint.before, endpoint.after, lambda: endpoint.invoke(was, kwargs))


def pipe_endpoint(
    was: Any, endpoint: Endpoint, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``was.pipe``: call another handler directly, as a request to it would.

    ``args`` fill the handler's parameters in order, ``kwargs`` by name; its
    ARGS-scope inspections for the current method run on them and its
    autoruns run around it.
    """
    names = endpoint.signature.names
    if len(args) > len(names):
        raise TypeError(f"{endpoint.func.__name__}() takes {len(names)} arguments, got {len(args)}")
    values = dict(zip(names, args, strict=False))
    values.update(kwargs)
    converted: dict[str, Any] = {}
    for inspection in endpoint.inspections:
        if inspection.source == "ARGS" and inspection.applies_to(was.request.method):
            converted.update(inspection.check(values))
    call_kwargs = bind_arguments(endpoint.signature, {}, {}, values)
    call_kwargs.update({k: v for k, v in converted.items() if k in call_kwargs})
    if endpoint.typed is not None:
        endpoint.typed.convert(call_kwargs)
    return run_autoruns(
        was, endpoint.before, endpoint.after, lambda: endpoint.invoke(was, call_kwargs)
    )
