"""What ``@app.inspect`` rules say about each parameter, as JSON Schema.

:func:`describe_inspection` reads the arguments given to one ``@app.inspect``
(the raw rules the endpoint keeps) into :class:`ParamFacts` per parameter:
a schema fragment (``ints`` -> ``integer``, ``a__gte=5`` -> ``minimum``,
``a__len__between=(4, 8)`` -> ``minLength``/``maxLength`` and
``minItems``/``maxItems``, ``a__in=[...]`` -> ``enum``, ``re.compile`` ->
``pattern`` ...), whether it is required, and notes in words for what a schema
cannot say (``oneof``, ``manyof``, ``notags``, ``safes``, JSON node rules).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from atila.openapi.schemas import SchemaRegistry, jsonable
from atila.rulenames import KEYWORDS, split_rule_key

__all__ = ["InspectionFacts", "ParamFacts", "describe_inspection", "split_names"]

_TYPE_KEYWORDS: dict[str, dict[str, Any]] = {
    "ints": {"type": "integer"},
    "floats": {"type": "number"},
    "booleans": {"type": "boolean"},
    "dicts": {"type": "object"},
    "strings": {"type": "string"},
    "emails": {"type": "string", "format": "email"},
    "uuids": {"type": "string", "format": "uuid"},
}
_BOUNDS = {"gte": "minimum", "gt": "exclusiveMinimum", "lte": "maximum", "lt": "exclusiveMaximum"}
_LENGTH_BOUNDS = {"gte": "min", "gt": "min", "lte": "max", "lt": "max"}
_NODE = re.compile(r"___|__\d+(?:__|$)")


def split_names(value: Iterable[str] | str | None) -> list[str]:
    """A name list: an iterable or a comma-separated string, as ``@app.inspect`` reads it."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(name) for name in value]


def _groups(value: Any) -> list[list[str]]:
    if not value:
        return []
    if isinstance(value, str):
        return [split_names(value)]
    items = list(value)
    if all(isinstance(item, str) for item in items):
        return [items]
    return [split_names(item) for item in items]


@dataclass
class ParamFacts:
    """What the rules of one inspection say about one parameter."""

    schema: dict[str, Any] = field(default_factory=dict)
    required: bool = False
    #: declared in ``lists``: the value rules describe the items
    listed: bool = False
    #: declared in ``nones``: an empty value reads as null
    nullable: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class InspectionFacts:
    """One ``@app.inspect``: where its parameters come from, and the facts of each."""

    #: ``ARGS``, ``URL`` (the query string), ``FORM``, ``JSON`` or ``DATA``
    source: str
    #: the only method it applies to, or None
    method: str | None
    params: dict[str, ParamFacts]
    notes: list[str]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _length(schema: dict[str, Any], op: str, spec: Any) -> None:
    """``a__len__gte=4``: the bound for text and for arrays (each applies only to its type)."""
    if op == "between" and isinstance(spec, list | tuple) and len(spec) == 2:
        _length(schema, "gte", spec[0])
        _length(schema, "lte", spec[1])
        return
    if op == "eq":
        _length(schema, "gte", spec)
        _length(schema, "lte", spec)
        return
    side = _LENGTH_BOUNDS.get(op)
    if side is None or not isinstance(spec, int):
        return
    bound = spec + 1 if op == "gt" else spec - 1 if op == "lt" else spec
    schema[f"{side}Length"] = bound
    schema[f"{side}Items"] = bound


def _operator(schema: dict[str, Any], op: str, spec: Any) -> bool:
    """Add ``op``'s keywords to ``schema``; False when no schema says it."""
    if op in _BOUNDS and _number(spec):
        schema[_BOUNDS[op]] = spec
        schema.setdefault("type", "number")
        return True
    if op == "between" and isinstance(spec, list | tuple) and len(spec) == 2:
        if all(_number(x) for x in spec):
            schema["minimum"], schema["maximum"] = spec
            schema.setdefault("type", "number")
            return True
        return False
    ok, value = jsonable(spec)
    if op in ("in", "notin") and ok and isinstance(value, list):
        enum = {"enum": value}
        schema.update(enum if op == "in" else {"not": enum})
        return True
    if op in ("eq", "neq") and ok:
        schema.update({"const": value} if op == "eq" else {"not": {"const": value}})
        if _number(spec):  # text compared with a number must read as one
            schema.setdefault("type", "number")
        return True
    if isinstance(spec, str):
        escaped = re.escape(spec)
        patterns = {
            "startswith": "^" + escaped,
            "endswith": escaped + "$",
            "contains": escaped,
        }
        if op in patterns:
            schema["pattern"] = patterns[op]
            return True
        negated = {"notstartwith": "startswith", "notendwith": "endswith", "notcontain": "contains"}
        if op in negated:
            schema["not"] = {"pattern": patterns[negated[op]]}
            return True
    return False


def _operator_rule(facts: dict[str, ParamFacts], key: str, spec: Any, notes: list[str]) -> None:
    key, op, by_length = split_rule_key(key)
    shown = getattr(spec, "pattern", spec)
    rule = f"{key}{'__len' if by_length else ''}{'' if op == 'eq' else '__' + op} = {shown!r}"
    if _NODE.search(key):  # a JSON node inside a parameter: said in words
        name = key.split("___")[0].split("__")[0]
        facts.setdefault(name, ParamFacts()).notes.append(f"checked: {rule}")
        return
    param = facts.setdefault(key, ParamFacts())
    target = param.schema
    if isinstance(spec, re.Pattern):
        target["pattern"] = spec.pattern
    elif by_length:
        _length(target, op, spec)
    elif not _operator(target, op, spec):
        param.notes.append(f"checked: {rule}")


def _type_rule(facts: dict[str, ParamFacts], key: str, spec: Any, schemas: SchemaRegistry) -> None:
    kinds = [spec] if isinstance(spec, type) else list(spec)
    options = [schemas.schema_of(kind) for kind in kinds]
    schema = options[0] if len(options) == 1 else {"anyOf": options}
    if _NODE.search(key):
        name = key.split("___")[0].split("__")[0]
        names = " or ".join(kind.__name__ for kind in kinds)
        facts.setdefault(name, ParamFacts()).notes.append(f"checked: {key} is {names}")
        return
    facts.setdefault(key, ParamFacts()).schema.update(schema)


def describe_inspection(
    scope: str, rules: Mapping[str, Any], schemas: SchemaRegistry
) -> InspectionFacts:
    """The facts of one ``@app.inspect(scope, **rules)``."""
    facts: dict[str, ParamFacts] = {}
    notes: list[str] = []
    for name in split_names(rules.get("required")):
        if _NODE.search(name):
            notes.append(f"{name} is required")
        else:
            facts.setdefault(name, ParamFacts()).required = True
    for name in split_names(rules.get("lists")):
        facts.setdefault(name, ParamFacts()).listed = True
    for name in split_names(rules.get("nones")):
        facts.setdefault(name, ParamFacts()).nullable = True
    for keyword, schema in _TYPE_KEYWORDS.items():
        for name in split_names(rules.get(keyword)):
            facts.setdefault(name, ParamFacts()).schema.update(schema)
    for group in _groups(rules.get("oneof")):
        notes.append(f"at least one of {', '.join(group)} is required")
    for group in _groups(rules.get("manyof")):
        notes.append(f"{', '.join(group)} must be given together")
    for name in split_names(rules.get("notags")):
        facts.setdefault(name, ParamFacts()).notes.append("< and > are escaped")
    for name in split_names(rules.get("safes")):
        facts.setdefault(name, ParamFacts()).notes.append("refused when it looks like markup")
    for key, spec in rules.items():
        if key in KEYWORDS or spec is None:
            continue
        if isinstance(spec, type) or (
            isinstance(spec, list | tuple) and spec and all(isinstance(t, type) for t in spec)
        ):
            _type_rule(facts, key, spec, schemas)
        else:
            _operator_rule(facts, key, spec, notes)
    normalized = scope.upper()
    method_scoped = normalized not in ("ARGS", "URL", "FORM", "JSON", "DATA")
    return InspectionFacts(
        "ARGS" if method_scoped else normalized,
        normalized if method_scoped else None,
        facts,
        notes,
    )
