"""Type annotations on handler parameters: converted and validated like ``@app.inspect``.

::

    @app.route("/items/<int:item_id>")
    def get(was, item_id: int, limit: int = 10, tags: list[str] | None = None): ...

:func:`typed_parameters` reads the handler's annotations once, when the route is
registered, into a :class:`TypedParameters` holding one converter per annotated
parameter; per request :meth:`TypedParameters.convert` only runs them on the
bound arguments. ``?limit=abc`` is then a 400 naming ``limit`` (the
:class:`~atila.errors.ParameterError` body ``@app.inspect`` answers with).

Understood: ``int``, ``float``, ``bool``, ``str``, ``uuid.UUID``,
``decimal.Decimal``, ``datetime``/``date``/``time`` (ISO 8601), ``Enum``
subclasses, ``Literal[...]``, ``list[X]``/``tuple[X, ...]``/``set[X]`` (a
single value becomes a one-item list; repeat the parameter for more:
``?tags=a&tags=b``), ``dict``/``dict[str, X]``/a ``TypedDict`` (a JSON
object), ``X | None`` (and ``X = None``: ``None`` passes, an empty query value
becomes ``None``), unions (the first member that fits) and ``Annotated[X, ...]``.
Other annotations (``Any``, classes of your own, names that cannot be resolved)
are not checked: the value reaches the handler as the request gave it, as
without annotations.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import inspect
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from atila.converters import (
    CONVERSION_ERRORS,
    first_fit,
    to_bool,
    to_dict,
    to_float,
    to_int,
    to_number,
    to_str,
    to_uuid,
)
from atila.errors import ParameterError
from atila.inspection import Repeated

__all__ = [
    "TypedParameter",
    "TypedParameters",
    "resolved_hints",
    "strip_annotated",
    "typed_parameters",
]

Convert = Callable[[Any], Any]
_NONE_TYPE = type(None)
_SEQUENCE_ORIGINS = (list, tuple, set, frozenset)


def strip_annotated(annotation: Any) -> Any:
    """``Annotated[int, ...]`` is ``int``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = annotation.__origin__
    return annotation


def union_members(annotation: Any) -> tuple[Any, ...] | None:
    """The members of ``X | Y`` / ``Union[X, Y]`` / ``Optional[X]``, else None."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(annotation)
    return None


def is_typeddict(annotation: Any) -> bool:
    """Whether ``annotation`` is a ``TypedDict`` class."""
    return isinstance(annotation, type) and typing.is_typeddict(annotation)


def resolved_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """``func``'s annotations with string forms (``from __future__ import annotations``)
    resolved; annotations that cannot be resolved are left out, one by one."""
    target = inspect.unwrap(func)
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # noqa: BLE001 - NameError, TypeError ...: resolve them one by one
        pass
    raw = getattr(target, "__annotations__", {}) or {}
    namespace = getattr(target, "__globals__", {})
    hints: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            try:
                value = eval(value, namespace)  # noqa: S307 - the handler's own annotation
            except Exception:  # noqa: BLE001 - an unresolvable name is not checked
                continue
        hints[name] = value
    return hints


@dataclass(frozen=True)
class TypedParameter:
    """One annotated parameter: its converter and what its value must be, in words."""

    name: str
    annotation: Any
    convert: Convert
    must: str
    #: a value of None passes (``X | None``, or a default of None)
    nullable: bool
    #: a list type: a repeated parameter is its items, not an error
    sequence: bool


def _iso(kind: type) -> Convert:
    def convert(value: Any) -> Any:
        if isinstance(value, kind) and (kind is not datetime.date or type(value) is kind):
            return value
        return kind.fromisoformat(to_str(value))  # type: ignore[attr-defined]

    return convert


def _to_decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, bool):
        raise ValueError(value)
    number = decimal.Decimal(str(value).strip() if isinstance(value, str) else value)
    if not number.is_finite():
        raise ValueError(value)
    return number


_SCALARS: dict[Any, tuple[Convert, str]] = {
    int: (to_int, "be an integer"),
    float: (to_float, "be a number"),
    bool: (to_bool, "be a boolean"),
    str: (to_str, "be a string"),
    uuid.UUID: (to_uuid, "be a UUID"),
    decimal.Decimal: (_to_decimal, "be a number"),
    datetime.datetime: (_iso(datetime.datetime), "be an ISO 8601 date-time"),
    datetime.date: (_iso(datetime.date), "be an ISO 8601 date"),
    datetime.time: (_iso(datetime.time), "be an ISO 8601 time"),
    dict: (to_dict, "be an object"),
}


def _like(value: Any, option: Any) -> Any:
    """``value`` read as ``option``'s type when it is text (query strings are text)."""
    if not isinstance(value, str) or isinstance(option, str):
        return value
    if isinstance(option, bool):
        return to_bool(value)
    if isinstance(option, int | float):
        return to_number(value)
    return value


def _choice(options: tuple[Any, ...]) -> Convert:
    def convert(value: Any) -> Any:
        for option in options:
            try:
                if _like(value, option) == option and type(_like(value, option)) is type(option):
                    return option
            except CONVERSION_ERRORS:
                continue
        raise ValueError(value)

    return convert


def _enum(kind: type[enum.Enum]) -> Convert:
    by_value = _choice(tuple(member.value for member in kind))

    def convert(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        return kind(by_value(value))

    return convert


def _each(convert: Convert, container: type) -> Convert:
    def convert_all(value: Any) -> Any:
        items = value if isinstance(value, list | tuple) else [value]
        converted = [convert(item) for item in items]
        return converted if container is list else container(converted)

    return convert_all


def _mapping(convert: Convert) -> Convert:
    def convert_all(value: Any) -> dict[str, Any]:
        return {str(key): convert(item) for key, item in to_dict(value).items()}

    return convert_all


def _typeddict(kind: type) -> Convert:
    required = frozenset(getattr(kind, "__required_keys__", ()))

    def convert(value: Any) -> dict[str, Any]:
        mapping = to_dict(value)
        if not required <= mapping.keys():
            raise ValueError(value)
        return mapping

    return convert


def converter_for(annotation: Any) -> tuple[Convert, str] | None:
    """The converter of ``annotation`` and what a value must be, or None (not checked)."""
    annotation = strip_annotated(annotation)
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    members = union_members(annotation)
    if members is not None:
        parts = [converter_for(m) for m in members if m is not _NONE_TYPE]
        if not parts or any(part is None for part in parts):
            return None
        known = [part for part in parts if part is not None]
        return first_fit([c for c, _ in known]), " or ".join(must for _, must in known)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return _choice(args), f"be one of {list(args)!r}"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        values = [member.value for member in annotation]
        return _enum(annotation), f"be one of {values!r}"
    if is_typeddict(annotation):
        keys = sorted(getattr(annotation, "__required_keys__", ()))
        return _typeddict(annotation), f"be an object with {', '.join(keys) or 'its'} keys"
    container = origin or annotation
    if container in _SEQUENCE_ORIGINS:
        item = converter_for(args[0]) if args and args[0] is not Ellipsis else None
        item_convert, item_must = item if item is not None else ((lambda v: v), "")
        must = "be a list" + (f" of items that {item_must}" if item_must else "")
        return _each(item_convert, container), must
    if container in (dict, Mapping) and len(args) == 2:
        value = converter_for(args[1])
        if value is None:
            return to_dict, "be an object"
        return _mapping(value[0]), f"be an object whose values {value[1]}"
    return None


def is_nullable(annotation: Any, default: Any) -> bool:
    """``X | None``, ``Optional[X]``, or any annotation with a default of None."""
    members = union_members(strip_annotated(annotation))
    return default is None or (members is not None and _NONE_TYPE in members)


def is_sequence(annotation: Any) -> bool:
    """Whether ``annotation`` (or a member of its union) is a list-like type."""
    annotation = strip_annotated(annotation)
    members = union_members(annotation) or (annotation,)
    return any(
        (typing.get_origin(strip_annotated(m)) or strip_annotated(m)) in _SEQUENCE_ORIGINS
        for m in members
    )


class TypedParameters:
    """The annotated parameters of one handler (built once, at registration)."""

    def __init__(self, params: tuple[TypedParameter, ...]) -> None:
        self.params = params

    def convert(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Convert the bound ``kwargs`` in place; return the values that were converted.

        Raises :class:`ParameterError` (400) naming the first parameter that
        does not fit its annotation.
        """
        changed: dict[str, Any] = {}
        for param in self.params:
            name = param.name
            if name not in kwargs:
                continue
            value = kwargs[name]
            if value is None or (param.nullable and value == ""):
                if param.nullable:
                    kwargs[name] = changed[name] = None
                    continue
                raise ParameterError(name, f"parameter {name} must {param.must}, not null")
            if isinstance(value, Repeated) and not param.sequence:
                raise ParameterError(
                    name, f"parameter {name} is given more than once ({len(value)} values)"
                )
            try:
                converted = param.convert(value)
            except CONVERSION_ERRORS:
                raise ParameterError(name, f"parameter {name} must {param.must}") from None
            if converted is not value:
                kwargs[name] = changed[name] = converted
        return changed


def typed_parameters(
    func: Callable[..., Any], names: tuple[str, ...], defaults: Mapping[str, Any]
) -> TypedParameters | None:
    """The :class:`TypedParameters` of ``func``'s parameters ``names``; None without any."""
    if not names:
        return None
    hints = resolved_hints(func)
    params = []
    for name in names:
        if name not in hints:
            continue
        annotation = hints[name]
        found = converter_for(annotation)
        if found is None:
            continue
        default = defaults.get(name, inspect.Parameter.empty)
        params.append(
            TypedParameter(
                name,
                annotation,
                found[0],
                found[1],
                is_nullable(annotation, default),
                is_sequence(annotation),
            )
        )
    return TypedParameters(tuple(params)) if params else None
