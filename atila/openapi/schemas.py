"""JSON Schema (OpenAPI 3.1's dialect) of Python type annotations.

:class:`SchemaRegistry` turns an annotation into a schema; ``TypedDict`` and
dataclass types become named ``components/schemas`` entries referenced with
``$ref`` (built once per document, recursion included).
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import typing
import uuid
from collections.abc import Mapping
from typing import Any

from atila.annotations import is_typeddict, strip_annotated, union_members

__all__ = ["SchemaRegistry", "jsonable"]

_NONE_TYPE = type(None)
_SCALARS: dict[Any, dict[str, Any]] = {
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    str: {"type": "string"},
    bytes: {"type": "string"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    decimal.Decimal: {"type": "number"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.time: {"type": "string", "format": "time"},
    dict: {"type": "object"},
    list: {"type": "array"},
    tuple: {"type": "array"},
    set: {"type": "array", "uniqueItems": True},
    frozenset: {"type": "array", "uniqueItems": True},
}


def jsonable(value: Any) -> tuple[bool, Any]:
    """``(True, value)`` when ``value`` can appear in a JSON document (a default, an enum)."""
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if value is None or isinstance(value, str | int | bool):
        return True, value
    if isinstance(value, float):
        return (value == value and value not in (float("inf"), float("-inf"))), value
    if isinstance(value, list | tuple):
        items = [jsonable(item) for item in value]
        return all(ok for ok, _ in items), [item for _, item in items]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        pairs = {k: jsonable(v) for k, v in value.items()}
        return all(ok for ok, _ in pairs.values()), {k: v for k, (_, v) in pairs.items()}
    return False, None


class SchemaRegistry:
    """Schemas of annotations, with the named ones collected for ``components``."""

    def __init__(self) -> None:
        #: ``components/schemas``: name -> schema
        self.components: dict[str, dict[str, Any]] = {}
        self._names: dict[Any, str] = {}

    def schema_of(self, annotation: Any) -> dict[str, Any]:
        """The schema of ``annotation``; ``{}`` (anything) for what it cannot describe."""
        annotation = strip_annotated(annotation)
        if annotation in _SCALARS:
            return dict(_SCALARS[annotation])
        members = union_members(annotation)
        if members is not None:
            schemas = [self.schema_of(m) for m in members if m is not _NONE_TYPE]
            if _NONE_TYPE in members:
                schemas.append({"type": "null"})
            if any(not schema for schema in schemas):
                return {}
            return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        if annotation is _NONE_TYPE:
            return {"type": "null"}
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Literal:
            return {"enum": [jsonable(arg)[1] for arg in args]}
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return {"enum": [jsonable(member.value)[1] for member in annotation]}
        if is_typeddict(annotation) or (
            isinstance(annotation, type) and dataclasses.is_dataclass(annotation)
        ):
            return {"$ref": "#/components/schemas/" + self._component(annotation)}
        if origin in (list, set, frozenset) or (origin is tuple and args[-1:] == (Ellipsis,)):
            schema = dict(_SCALARS[origin])
            if args:
                schema["items"] = self.schema_of(args[0])
            return schema
        if origin is tuple:
            items = [self.schema_of(arg) for arg in args]
            return {
                "type": "array",
                "prefixItems": items,
                "minItems": len(items),
                "maxItems": len(items),
            }
        if origin in (dict, Mapping) and len(args) == 2:
            return {"type": "object", "additionalProperties": self.schema_of(args[1])}
        return {}

    def _component(self, kind: type) -> str:
        name = self._names.get(kind)
        if name is not None:
            return name
        name = kind.__name__
        while name in self.components:  # two types of one name from different modules
            name += "_"
        self._names[kind] = name
        self.components[name] = {}  # placeholder: a recursive type refers to itself
        hints = typing.get_type_hints(kind)
        properties = {key: self.schema_of(value) for key, value in hints.items()}
        if is_typeddict(kind):
            keys = getattr(kind, "__required_keys__", frozenset())
            required = [key for key in hints if key in keys]  # in declaration order
        else:
            required = []
            for item in dataclasses.fields(kind):
                no_default = item.default is dataclasses.MISSING
                if no_default and item.default_factory is dataclasses.MISSING:
                    required.append(item.name)
                elif not no_default:
                    ok, value = jsonable(item.default)
                    if ok and item.name in properties:
                        properties[item.name]["default"] = value
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        doc = (kind.__doc__ or "").strip()
        if doc and not doc.startswith(f"{kind.__name__}("):  # not the generated dataclass doc
            schema["description"] = doc
        self.components[name] = schema
        return name
