"""The OpenAPI 3.1 document of one Atila app, built from what the app declares.

One document per app (see ``docs/openapi.md``): its own routes and those of
every service mounted into it (tagged with the service's name), relative to
the app's mount point, which is the document's ``servers`` URL.  Each route
and method gives an operation with:

* path parameters from the URL converters (``<int:id>`` an integer or
  ``me``/``notme``/``new``, ``<float:x>``, ``<path:p>``, ``<name>``);
  optional trailing parameters give a second path without them;
* the handler's other parameters as query parameters (GET, DELETE ...) or a
  JSON / form request body (POST, PUT, PATCH), typed by their annotations
  and by the ``@app.inspect`` rules that apply to the method, with their
  defaults from the signature;
* the summary and description from the handler's docstring;
* the security its guards and ``authorization_required`` ask for;
* a 200 response typed by the return annotation (``TypedDict``, dataclass,
  ``list[...]``; a generic JSON object otherwise) and the error responses
  (400 with the error body; 401/403 for guarded routes; 404 with path
  parameters; 415 with ``content_types``).

A handler adds or overrides operation fields with :func:`atila.openapi.operation`.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from atila.annotations import resolved_hints, strip_annotated, union_members
from atila.openapi.rules import InspectionFacts, ParamFacts, describe_inspection
from atila.openapi.schemas import SchemaRegistry, jsonable
from atila.payloads import File, Static
from atila.permissions import GUARD_ORDER
from atila.routing import INT_KEYWORDS, Param, Route

if TYPE_CHECKING:
    from atila.app import Atila

__all__ = ["ERROR_SCHEMA", "OPERATION_ATTRIBUTE", "build_document"]

#: the attribute :func:`atila.openapi.operation` sets on a handler
OPERATION_ATTRIBUTE = "__openapi__"
#: the JSON error body (docs/atila-core.md, "Errors")
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": ["integer", "string"], "description": "errno, else the HTTP status"},
        "message": {"type": "string", "description": "the status's reason phrase"},
        "detail": {"type": "string"},
        "param": {"type": "string", "description": "the parameter at fault (400)"},
        "more_info": {"type": "string"},
        "debug": {"type": "string"},
        "traceback": {"type": "array", "items": {"type": "string"}},
    },
}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_METHOD_NAMES = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_DOCUMENTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_FORM_TYPES = ("application/json", "application/x-www-form-urlencoded")
_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "basic": {"type": "http", "scheme": "basic"},
    "digest": {"type": "http", "scheme": "digest"},
}
_GUARDED = {GUARD_ORDER.index(kind) for kind in ("login", "staff", "permission")}
_FORBIDS = {GUARD_ORDER.index(kind) for kind in ("staff", "permission", "testpass")}
_STRINGISH = ("type", "anyOf", "enum", "const", "$ref", "oneOf")


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _path_schema(param: Param, annotation: Any, method: str) -> dict[str, Any]:
    if param.kind == "int":
        number = {"type": "integer", "minimum": 0}
        members = union_members(strip_annotated(annotation)) or (strip_annotated(annotation),)
        if annotation is not None and str not in members and typing.Any not in members:
            return number  # ``item_id: int``: the keywords are refused by the annotation
        # spec "Pre-Defined Parameter Values": ``notme`` is for GET only (else a 421)
        words = [w for w in INT_KEYWORDS if method == "GET" or w != "notme"]
        return {"anyOf": [number, {"type": "string", "enum": words}]}
    if param.kind == "float":
        return {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
    if param.kind == "path":
        return {"type": "string", "minLength": 1}
    return {"type": "string", "pattern": "^[^/]+$"}


def _path_forms(route: Route) -> list[tuple[str, tuple[Param, ...]]]:
    """``/a/{id}`` and, for an optional trailing ``id``, ``/a`` too."""
    forms: list[tuple[str, tuple[Param, ...]]] = []
    parts = list(route.parts)
    while True:
        params = tuple(p for p in parts if isinstance(p, Param))
        text = "".join("{" + p.name + "}" if isinstance(p, Param) else p for p in parts)
        forms.append((text or "/", params))
        if not (params and params[-1].optional):
            return forms
        cut = parts.index(params[-1])
        parts = parts[:cut]
        if parts and isinstance(parts[-1], str) and parts[-1].endswith("/") and len(parts[-1]) > 1:
            parts[-1] = parts[-1][:-1]
        elif parts and parts[-1] == "/":
            parts.pop()
        if not parts:
            return forms


@dataclass
class _Field:
    name: str
    schema: dict[str, Any]
    required: bool
    notes: list[str]


def _merge_facts(schema: dict[str, Any], facts: ParamFacts) -> dict[str, Any]:
    rule_schema = dict(facts.schema)
    if facts.listed:
        # length rules of a ``lists`` parameter count its items
        outer = {k: rule_schema.pop(k) for k in ("minItems", "maxItems") if k in rule_schema}
        rule_schema.pop("minLength", None)
        rule_schema.pop("maxLength", None)
        items = {**schema.get("items", {}), **rule_schema}
        return {**schema, "type": "array", "items": items, **outer}
    if rule_schema.get("type") and "anyOf" in schema:
        schema = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**schema, **rule_schema}


class _Builder:
    def __init__(self, app: Atila) -> None:
        self.app = app
        self.schemas = SchemaRegistry()
        self.schemes: dict[str, dict[str, Any]] = {}
        self.operation_ids: set[str] = set()
        self._facts: dict[Any, list[InspectionFacts]] = {}
        self.units = {func: unit for unit in app.services.units() for _, func in unit.routes}

    def facts(self, endpoint: Any) -> list[InspectionFacts]:
        """The facts of ``endpoint``'s inspections (worked out once per document)."""
        found = self._facts.get(endpoint)
        if found is None:
            found = self._facts[endpoint] = [
                describe_inspection(scope, rules, self.schemas)
                for scope, rules in endpoint.inspected
            ]
        return found

    def fields(self, route: Route, method: str, in_body: bool) -> list[_Field]:
        endpoint = route.endpoint
        signature = endpoint.signature
        hints = resolved_hints(route.handler)
        path_names = {p.name for p in route.params}
        facts = self.facts(endpoint)
        names = [n for n in signature.names if n not in path_names]
        wanted = "body" if in_body else "query"
        for fact in facts:
            if fact.method not in (None, method):
                continue
            source = fact.source
            where = "query" if source == "URL" else "body" if source != "ARGS" else wanted
            if where != wanted:
                continue
            names += [n for n in fact.params if n not in names and n not in path_names]
        fields = []
        for name in names:
            schema = self.schemas.schema_of(hints[name]) if name in hints else {}
            required = name in signature.required
            refuses_empty = False  # ``required`` of @app.inspect refuses "" too
            notes: list[str] = []
            nullable = signature.defaults.get(name, ...) is None
            for fact in facts:
                if fact.method in (None, method) and name in fact.params:
                    param = fact.params[name]
                    schema = _merge_facts(schema, param)
                    required = required or param.required
                    refuses_empty = refuses_empty or param.required
                    nullable = nullable or param.nullable
                    notes += param.notes
            if name in signature.defaults:
                ok, value = jsonable(signature.defaults[name])
                if ok and value is not None:
                    schema["default"] = value
            if not in_body and not any(key in schema for key in _STRINGISH):
                schema["type"] = "string"  # a query value is text
            if (
                refuses_empty
                and schema.get("type") in ("string", None)
                and "minLength" not in schema
            ):
                schema["minLength"] = 1
            allows_null = {"type": "null"} in schema.get("anyOf", ())
            if in_body and nullable and schema and "default" not in schema and not allows_null:
                schema = {"anyOf": [schema, {"type": "null"}]}
            if not in_body and schema.get("type") == "array" and not schema.get("items"):
                schema["items"] = {"type": "string"}  # each value of ``?l=a&l=b`` is text
            fields.append(_Field(name, schema, required, notes))
        return fields

    def operation(self, route: Route, method: str, params: tuple[Param, ...]) -> dict[str, Any]:
        handler = route.handler
        endpoint = route.endpoint
        hints = resolved_hints(handler)
        in_body = method in _BODY_METHODS
        operation: dict[str, Any] = {"operationId": self._operation_id(handler, method)}
        doc = (inspect.getdoc(handler) or "").replace("``", "`")  # reST literals as Markdown
        summary, _, description = doc.partition("\n")
        if summary:
            operation["summary"] = summary.strip()
        if description.strip():
            operation["description"] = description.strip()
        unit = self.units.get(handler)
        if unit is not None and unit.module is not None:
            operation["tags"] = [unit.ns or unit.module.__name__.rsplit(".", 1)[-1]]
        parameters = [
            {
                "name": p.name,
                "in": "path",
                "required": True,
                "schema": _path_schema(p, hints.get(p.name), method),
            }
            for p in params
        ]
        fields = self.fields(route, method, in_body)
        notes = [n for f in self.facts(endpoint) if f.method in (None, method) for n in f.notes]
        if notes:
            rules_text = "Parameter rules: " + "; ".join(notes) + "."
            operation["description"] = (
                operation.get("description", "") + "\n\n" + rules_text
            ).strip()
        if not in_body:
            parameters += [self._query(field) for field in fields]
        if parameters:
            operation["parameters"] = parameters
        if in_body:
            operation["requestBody"] = self._body(route, fields)
        operation["responses"] = self._responses(route, method, hints, bool(params))
        security = self._security(route)
        if security:
            operation["security"] = security
            operation["responses"]["401"] = _error("Unauthorized")
            if any(rank in _FORBIDS for rank, _ in endpoint.guards):
                operation["responses"]["403"] = _error("Forbidden")
        given = getattr(handler, OPERATION_ATTRIBUTE, None) or {}
        # fields for every method, then those under the method's name (``post={...}``)
        common = {k: v for k, v in given.items() if k.upper() not in _METHOD_NAMES}
        for extra in (common, given.get(method.lower(), {})):
            for key, value in extra.items():
                if isinstance(value, dict) and isinstance(operation.get(key), dict):
                    operation[key] = {**operation[key], **value}
                else:
                    operation[key] = value
        return operation

    def _operation_id(self, handler: Any, method: str) -> str:
        base = f"{getattr(handler, '__name__', 'handler')}_{method.lower()}"
        name, count = base, 1
        while name in self.operation_ids:
            count += 1
            name = f"{base}_{count}"
        self.operation_ids.add(name)
        return name

    @staticmethod
    def _query(field: _Field) -> dict[str, Any]:
        parameter: dict[str, Any] = {"name": field.name, "in": "query"}
        if _is_object(field.schema):  # a JSON text, not exploded into parameters
            # a query parameter is absent rather than null
            options = [o for o in field.schema.get("anyOf", ()) if o != {"type": "null"}]
            schema = options[0] if len(options) == 1 else field.schema
            parameter["content"] = {"application/json": {"schema": schema}}
        else:
            parameter["schema"] = field.schema
        if field.required:
            parameter["required"] = True
        if field.notes:
            parameter["description"] = "; ".join(field.notes)
        if field.schema.get("type") == "array":
            parameter["style"], parameter["explode"] = "form", True
        return parameter

    def _body(self, route: Route, fields: list[_Field]) -> dict[str, Any]:
        signature = route.endpoint.signature
        properties = {}
        for field in fields:
            schema = dict(field.schema)
            if field.notes:
                schema["description"] = "; ".join(field.notes)
            properties[field.name] = schema
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        required = [field.name for field in fields if field.required]
        if required:
            schema["required"] = required
        strict = bool(signature.name_set) and signature.var_keyword is None
        if strict:
            schema["additionalProperties"] = False  # other names are a 400
        types = route.content_types
        if types is None:
            # an object does not fit in a form field: such bodies are JSON only
            has_object = any(_is_object(field.schema) for field in fields)
            types = _FORM_TYPES[:1] if has_object else _FORM_TYPES
        content = {media: {"schema": schema} for media in types}
        return {"required": bool(required), "content": content}

    def _responses(
        self, route: Route, method: str, hints: dict[str, Any], has_params: bool
    ) -> dict[str, Any]:
        returned = hints.get("return")
        if strip_annotated(returned) is str:
            content = {"text/html": {"schema": {"type": "string"}}}
        elif strip_annotated(returned) in (File, Static):  # a mounted directory's files ...
            content = {"*/*": {"schema": {}}}
        else:
            schema = self.schemas.schema_of(returned) if returned is not None else {}
            content = {"application/json": {"schema": schema or {"type": "object"}}}
        responses: dict[str, Any] = {
            "200": {"description": "OK", "content": content},
            "400": _error("A parameter is missing or invalid (`param` names it)"),
        }
        if has_params:
            responses["404"] = _error("Not Found")
        if method != "GET" and any(p.kind == "int" for p in route.params):
            responses["421"] = _error("Misdirected Request: `notme` is for GET only")
        if route.content_types:
            responses["415"] = _error("Unsupported Media Type")
        return responses

    def _security(self, route: Route) -> list[dict[str, list[str]]]:
        app = self.app
        method = (
            route.options.get("authenticate")
            or app.security.route_methods.get(route.handler)
            or app.authenticate
        )
        if method is True:
            method = app.authorization or "digest"
        if method:
            name = f"{method}Auth"
            self.schemes[name] = _SCHEMES.get(str(method), _SCHEMES["bearer"])
            return [{name: []}]
        if any(rank in _GUARDED for rank, _ in route.endpoint.guards):
            # the login handler decides; a bearer token is what API clients send
            self.schemes["bearerAuth"] = _SCHEMES["bearer"]
            return [{"bearerAuth": []}]
        return []


def _is_object(schema: dict[str, Any]) -> bool:
    """Whether ``schema`` is (or may be) a JSON object."""
    options = schema.get("anyOf", [schema])
    return any(option.get("type") == "object" or "$ref" in option for option in options)


def _documented(route: Route) -> bool:
    handler = route.handler
    if getattr(handler, "websocket_route", None) is not None:
        return False
    return getattr(handler, OPERATION_ATTRIBUTE, True) is not False


def build_document(app: Atila, server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app`` served at ``server_url`` (its mount point)."""
    config = app.config
    builder = _Builder(app)
    paths: dict[str, dict[str, Any]] = {}
    for route in app.routes:
        if route.endpoint is None or not _documented(route):
            continue
        methods = [m for m in (route.methods or ("GET",)) if m in _DOCUMENTED_METHODS]
        for text, params in _path_forms(route):
            item = paths.setdefault(text, {})
            for method in methods:
                if method.lower() not in item:
                    item[method.lower()] = builder.operation(route, method, params)
    info = {
        "title": config.get("OPENAPI_TITLE") or app.import_name,
        "version": str(config.get("OPENAPI_VERSION") or "0.1.0"),
    }
    if config.get("OPENAPI_DESCRIPTION"):
        info["description"] = config["OPENAPI_DESCRIPTION"]
    components: dict[str, Any] = {"schemas": {"Error": ERROR_SCHEMA, **builder.schemas.components}}
    if builder.schemes:
        components["securitySchemes"] = builder.schemes
    return {
        "openapi": "3.1.0",
        "info": info,
        "servers": [{"url": server_url or "/"}],
        "paths": dict(sorted(paths.items())),
        "components": components,
    }
