"""Value converters of ``@app.inspect`` rules (``ints``, ``floats``, ``offset=int`` ...).

Each converter returns the converted value or raises ``ValueError``/``TypeError``
(any of :data:`CONVERSION_ERRORS`); :mod:`atila.inspection` turns that into a
:class:`~atila.errors.ParameterError` naming the parameter.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from typing import Any

from atila.jsonbody import loads as json_loads

_INT_RE = re.compile(r"\s*[+-]?[0-9]+\s*")
_FLOAT_RE = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


def to_int(value: Any) -> int:
    if type(value) is str and value.isascii() and value.isdigit():  # the common "10"
        return int(value)
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.fullmatch(value):
        return int(value)
    raise ValueError(value)


def to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float) or (isinstance(value, str) and _FLOAT_RE.fullmatch(value)):
        number = float(value)
        if math.isfinite(number):
            return number
    raise ValueError(value)


def to_number(value: Any) -> int | float:
    try:
        return to_int(value)
    except ValueError:
        return to_float(value)


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValueError(value)


def to_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json_loads(value)  # refuses deep nesting (JSONTooDeep, a ValueError)
    if isinstance(value, dict):
        return value
    raise ValueError(value)


def to_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")] if value.strip() else []
    raise ValueError(value)


def to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(value)


def to_email(value: Any) -> str:
    if isinstance(value, str) and len(value) <= 254 and _EMAIL_RE.fullmatch(value):
        return value
    raise ValueError(value)


def to_uuid_text(value: Any) -> str:
    uuid.UUID(to_str(value))
    return value


def to_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(to_str(value))


def first_fit(converters: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """A converter trying ``converters`` in order: the first that converts wins."""

    def convert(value: Any) -> Any:
        for converter in converters:
            try:
                return converter(value)
            except CONVERSION_ERRORS:
                continue
        raise ValueError(value)

    return convert


def empty_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value else value


# name -> (converter, what the value must be, applied to each item of a list)
NAMED_CONVERTERS: dict[str, tuple[Callable[[Any], Any], str, bool]] = {
    "nones": (empty_to_none, "", False),
    "lists": (to_list, "be a list", False),
    "ints": (to_int, "be an integer", True),
    "floats": (to_float, "be a number", True),
    "booleans": (to_bool, "be a boolean", True),
    "dicts": (to_dict, "be an object", False),
    "strings": (to_str, "be a string", True),
    "emails": (to_email, "be an email address", True),
    "uuids": (to_uuid_text, "be a UUID", True),
}
TYPE_CONVERTERS: dict[type, Callable[[Any], Any]] = {
    int: to_int,
    float: to_float,
    bool: to_bool,
    dict: to_dict,
    list: to_list,
    str: to_str,
    uuid.UUID: to_uuid,
}
CONVERSION_ERRORS = (ValueError, TypeError, ArithmeticError)


__all__ = [
    "CONVERSION_ERRORS",
    "NAMED_CONVERTERS",
    "TYPE_CONVERTERS",
    "empty_to_none",
    "first_fit",
    "to_bool",
    "to_dict",
    "to_email",
    "to_float",
    "to_int",
    "to_list",
    "to_number",
    "to_str",
    "to_uuid",
    "to_uuid_text",
]
