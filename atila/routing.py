"""Route compilation and matching (spec sections "Routing" and "Getting URL Parameters").

A pattern such as ``/episode/<int:id>`` is compiled once, when the route is
registered, into a :class:`Route`.  Parameter kinds:

* ``<name>`` — one path segment (``[^/]+``), passed as ``str``;
* ``<int:name>`` — digits (passed as ``int``) or one of ``me``, ``notme``,
  ``new`` (passed as that ``str``);
* ``<float:name>`` — a decimal number, passed as ``float``;
* ``<path:name>`` — the rest of the path, slashes included.

Trailing ``/<param>`` parts whose handler argument has a default are optional:
``/episode/<int:id>`` with ``id=None`` also matches ``/episode``.  A route whose
pattern would become empty that way (``/<int:id>``) does not match the root.

:class:`RouteTable` finds the route of a path without scanning every regex:
fully literal patterns live in a dict keyed by path, the others in buckets
keyed by their first literal segment (plus one bucket for patterns that start
with a parameter).  It also applies the ``""`` vs ``"/"`` rule and
``app.unroute`` blocks.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

__all__ = [
    "INT_KEYWORDS",
    "Blocked",
    "BuildError",
    "Match",
    "NoMatch",
    "Redirect",
    "Route",
    "RouteTable",
    "compile_route",
]

#: Words an ``<int:...>`` parameter accepts besides digits (spec "Pre-Defined Parameter Values").
INT_KEYWORDS = ("me", "notme", "new")

_PARAM = re.compile(r"<(?:([a-z]+):)?([A-Za-z_][A-Za-z0-9_]*)>")
_KIND_REGEX = {
    "str": r"[^/]+",
    "string": r"[^/]+",
    "int": r"\d+|" + "|".join(INT_KEYWORDS),
    "float": r"-?\d+(?:\.\d+)?",
    "path": r".+",
}
_WILDCARD = "\0"  # bucket key for patterns whose first segment has a parameter


class BuildError(ValueError):
    """A URL cannot be built: a required URL parameter is missing."""


@dataclass(frozen=True)
class Param:
    """One ``<kind:name>`` of a pattern."""

    name: str
    kind: str
    optional: bool = False

    def convert(self, raw: str) -> Any:
        """The handler value of a matched ``raw`` string."""
        if self.kind == "int":
            return int(raw) if raw.isdigit() else raw
        if self.kind == "float":
            return float(raw)
        return raw


@dataclass(eq=False)
class Route:
    """A compiled route: pattern, handler endpoint, methods and options.

    ``endpoint`` is whatever the app attaches (the handler and what it knows
    about it); ``handler`` is the plain function, for naming and
    ``was.request.routed``.  ``methods=None`` accepts every method.
    """

    pattern: str
    handler: Any
    endpoint: Any = None
    methods: tuple[str, ...] | None = None
    content_types: tuple[str, ...] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    params: tuple[Param, ...] = ()
    regex: re.Pattern[str] | None = None
    #: Literal paths this route also matches exactly (the pattern itself when
    #: it has no parameter, else the forms with optional parameters left out).
    static_forms: tuple[str, ...] = ()
    #: Parts of the pattern: literal strings and :class:`Param` objects.
    parts: tuple[str | Param, ...] = ()

    def __post_init__(self) -> None:
        # what match() converts, worked out once
        self._int_names = tuple(p.name for p in self.params if p.kind == "int")
        self._float_names = tuple(p.name for p in self.params if p.kind == "float")
        self._has_optional = any(p.optional for p in self.params)

    @property
    def catch_all(self) -> bool:
        """True for ``"/<path:p>"``: every path of the mount (an SPA's fallback route)."""
        parts = self.parts
        return (
            len(parts) == 2 and parts[0] == "/"
            and isinstance(parts[1], Param) and parts[1].kind == "path"
        )  # fmt: skip

    def allows(self, method: str) -> bool:
        """True when ``method`` may call this route (HEAD is allowed with GET)."""
        if self.methods is None:
            return True
        return method in self.methods or (method == "HEAD" and "GET" in self.methods)

    def allowed_methods(self) -> list[str]:
        """Methods for an ``Allow`` header (HEAD with GET, OPTIONS always)."""
        if self.methods is None:
            return ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        methods = list(self.methods)
        if "GET" in methods and "HEAD" not in methods:
            methods.append("HEAD")
        if "OPTIONS" not in methods:
            methods.append("OPTIONS")
        return methods

    def accepts_content_type(self, media_type: str) -> bool:
        """True when ``media_type`` (lower case, no parameters) is allowed."""
        return self.content_types is None or media_type in self.content_types

    def match(self, path: str) -> dict[str, Any] | None:
        """URL parameters when ``path`` matches, else None."""
        if path in self.static_forms:
            return {}
        if self.regex is None:
            return None
        found = self.regex.match(path)
        if found is None:
            return None
        values: dict[str, Any] = found.groupdict()
        if self._has_optional:  # an optional parameter left out is not passed
            values = {name: raw for name, raw in values.items() if raw is not None}
        for name in self._int_names:
            raw = values.get(name)
            if raw is not None and raw.isdigit():
                values[name] = int(raw)
        for name in self._float_names:
            raw = values.get(name)
            if raw is not None:
                values[name] = float(raw)
        return values

    @property
    def url_params(self) -> tuple[str, ...]:
        """Names of the URL parameters, in pattern order."""
        return tuple(param.name for param in self.params)

    def basepath(self) -> str:
        """The literal part before the first parameter (``/user/<id>`` -> ``/user/``)."""
        head = []
        for part in self.parts:
            if isinstance(part, Param):
                break
            head.append(part)
        return "".join(head)

    def build(self, values: Mapping[str, Any]) -> str:
        """The path for URL parameter ``values`` (percent-encoded).

        Spaces in values become ``_`` (spec "Getting URL Parameters").  Missing
        or ``None`` trailing optional parameters are left out with the
        segment before them; any other missing parameter raises
        :class:`BuildError`.
        """
        pieces: list[str] = []
        pending: list[str] = []  # literals since the last filled parameter
        for part in self.parts:
            if not isinstance(part, Param):
                pending.append(part)
                continue
            value = values.get(part.name)
            if value is None:
                if not part.optional:
                    raise BuildError(f"missing URL parameter {part.name!r} for {self.pattern!r}")
                break
            text = str(value).replace(" ", "_")
            safe = "/" if part.kind == "path" else ""
            pieces.extend(pending)
            pending = []
            pieces.append(quote(text, safe=safe))
        else:
            pieces.extend(pending)
            return "".join(pieces)
        # an optional parameter was left out: drop the literal that led to it
        pieces.extend(pending[:-1])
        literal = pending[-1] if pending else ""
        pieces.append(literal.rsplit("/", 1)[0] if "/" in literal else literal)
        return "".join(pieces)


def _split_parts(pattern: str, defaults: Mapping[str, Any]) -> list[str | Param]:
    """Literals and parameters of ``pattern``, optional flags from ``defaults``."""
    parts: list[str | Param] = []
    position = 0
    seen: set[str] = set()
    for found in _PARAM.finditer(pattern):
        kind, name = found.group(1) or "str", found.group(2)
        if kind not in _KIND_REGEX:
            raise ValueError(f"unknown parameter type {kind!r} in route {pattern!r}")
        if name in seen:
            raise ValueError(f"parameter {name!r} appears twice in route {pattern!r}")
        seen.add(name)
        if found.start() > position:
            parts.append(pattern[position : found.start()])
        parts.append(Param(name, "str" if kind == "string" else kind))
        position = found.end()
    if position < len(pattern):
        parts.append(pattern[position:])
    if "<" in "".join(p for p in parts if isinstance(p, str)):
        raise ValueError(f"malformed parameter in route {pattern!r}")
    # trailing "/<param>" parts with defaults become optional, from the end
    index = len(parts) - 1
    while (
        index >= 1
        and isinstance(parts[index], Param)
        and parts[index].name in defaults  # type: ignore[union-attr]
        and isinstance(parts[index - 1], str)
        and parts[index - 1].endswith("/")  # type: ignore[union-attr]
        and not (index == 1 and parts[0] == "/")  # "/<id>" never matches the root
    ):
        param = parts[index]
        assert isinstance(param, Param)
        parts[index] = Param(param.name, param.kind, optional=True)
        index -= 2
    return parts


def _regex_of(parts: list[str | Param]) -> str:
    """The anchored regex of ``parts``; optional parameters nest as ``(?:/(...)(?:...)?)?``."""
    out: list[str] = []
    closers = 0
    for position, part in enumerate(parts):
        if isinstance(part, Param):
            group = f"(?P<{part.name}>{_KIND_REGEX[part.kind]})"
            out.append(group)
            continue
        following = parts[position + 1] if position + 1 < len(parts) else None
        if isinstance(following, Param) and following.optional:
            head, _, _ = part.rpartition("/")
            out.append(re.escape(head) + "(?:/")
            closers += 1
        else:
            out.append(re.escape(part))
    return "^" + "".join(out) + ")?" * closers + "$"


def _static_forms(parts: list[str | Param]) -> tuple[str, ...]:
    """Literal paths matched: the pattern with every optional parameter left out."""
    if not any(isinstance(p, Param) for p in parts):
        return ("".join(p for p in parts if isinstance(p, str)),)
    first_optional = next(
        (i for i, p in enumerate(parts) if isinstance(p, Param) and p.optional), None
    )
    head = parts[: first_optional if first_optional is not None else len(parts)]
    if first_optional is None or any(isinstance(p, Param) for p in head):
        return ()
    literal = "".join(p for p in head if isinstance(p, str)).rpartition("/")[0]
    return (literal,) if literal else ()


def compile_route(
    pattern: str,
    handler: Any,
    *,
    endpoint: Any = None,
    defaults: Mapping[str, Any] | None = None,
    methods: list[str] | tuple[str, ...] | None = None,
    content_types: list[str] | tuple[str, ...] | None = None,
    options: dict[str, Any] | None = None,
) -> Route:
    """Compile ``pattern`` for ``handler`` (whose argument ``defaults`` make parts optional).

    ``pattern`` is ``""`` or starts with ``/`` (a missing leading slash is added).
    """
    if pattern and not pattern.startswith("/"):
        pattern = "/" + pattern
    parts = _split_parts(pattern, defaults or {})
    params = tuple(p for p in parts if isinstance(p, Param))
    return Route(
        pattern=pattern,
        handler=handler,
        endpoint=endpoint,
        methods=tuple(m.upper() for m in methods) if methods else None,
        content_types=tuple(c.lower() for c in content_types) if content_types else None,
        options=dict(options or {}),
        params=params,
        regex=re.compile(_regex_of(parts)) if params else None,
        static_forms=_static_forms(parts),
        parts=tuple(parts),
    )


def _first_segment(path: str) -> str:
    """``/episode/100`` -> ``episode``."""
    return path[1:].split("/", 1)[0] if path.startswith("/") else path


def _bucket_key(route: Route) -> str:
    """The first literal segment of ``route``'s pattern, or the wildcard key."""
    first = route.parts[0] if route.parts else ""
    if not isinstance(first, str):
        return _WILDCARD
    segment = _first_segment(first)
    if "/" in first[1:] or len(route.parts) == 1:
        return segment
    return _WILDCARD  # a parameter inside the first segment, as in "/item-<id>"


@dataclass(slots=True)
class Match:
    """A route and the URL parameters it matched."""

    route: Route
    params: dict[str, Any]


@dataclass(frozen=True)
class Redirect:
    """The path is served only with a trailing slash: redirect to ``location``."""

    location: str


@dataclass(frozen=True)
class Blocked:
    """The path is blocked by ``app.unroute``; answer ``status``."""

    status: int | str


@dataclass(frozen=True)
class NoMatch:
    """No route: 404, or 405 when routes matched but not for the method (``allowed``)."""

    allowed: tuple[str, ...] = ()


class RouteTable:
    """All routes of an app, indexed for matching and URL building."""

    def __init__(self) -> None:
        self._static: dict[str, list[Route]] = {}
        self._buckets: dict[str, list[Route]] = {}
        self._wildcard: list[Route] = []
        self._blocks: list[tuple[re.Pattern[str], int | str]] = []
        self._by_name: dict[str, list[Route]] = {}
        self._by_handler: dict[Any, list[Route]] = {}
        self._routes: list[Route] = []

    def __iter__(self) -> Iterator[Route]:
        return iter(self._routes)

    def __len__(self) -> int:
        return len(self._routes)

    def add(self, route: Route, names: tuple[str, ...] = ()) -> None:
        """Index ``route``; ``names`` are what ``was.urlfor`` may call it."""
        self._routes.append(route)
        for form in route.static_forms:
            self._static.setdefault(form, []).append(route)
        if route.regex is not None:
            key = _bucket_key(route)
            if key == _WILDCARD:
                self._wildcard.append(route)
            else:
                self._buckets.setdefault(key, []).append(route)
        for name in names:
            self._by_name.setdefault(name, []).append(route)
        self._by_handler.setdefault(route.handler, []).append(route)

    def unroute(self, pattern: str, status: int | str = 404) -> None:
        """Block paths matching glob ``pattern`` (``"/examples/*"``) with ``status``."""
        self._blocks.append((re.compile(fnmatch.translate(pattern)), status))

    def routes_for(self, target: Any) -> list[Route]:
        """Routes of a handler function or a name (``"index"``, ``"boards.index.search"``)."""
        if isinstance(target, str):
            return self._by_name.get(target, [])
        return self._by_handler.get(target, [])

    def candidates(self, path: str) -> Iterator[tuple[Route, dict[str, Any]]]:
        """Every route matching ``path`` with its URL parameters, best first."""
        for route in self._static.get(path, ()):
            yield route, {}
        for bucket in (self._buckets.get(_first_segment(path), ()), self._wildcard):
            for route in bucket:
                params = route.match(path)
                if params is not None:
                    yield route, params

    def blocked(self, path: str) -> int | str | None:
        """The ``unroute`` status blocking ``path``, or None."""
        for regex, status in self._blocks:
            if regex.match(path):
                return status
        return None

    def resolve(
        self, path: str, method: str, script_name: str = ""
    ) -> Match | Redirect | Blocked | NoMatch:
        """Find what answers ``method`` on ``path`` (a PATH_INFO below ``script_name``).

        At the mount point itself (``path == ""``) a ``""`` route answers; with
        only a ``"/"`` route the answer is a :class:`Redirect` to
        ``script_name + "/"``.  At the root mount, ``"/"`` falls back to a
        ``""`` route.  Blocked paths give :class:`Blocked`; a path matched
        only by routes of other methods gives :class:`NoMatch` with them.
        """
        if not path and not script_name:
            path = "/"
        if self._blocks:
            status = self.blocked(path)
            if status is not None:
                return Blocked(status)
        if path == "" and "" not in self._static and "/" in self._static:
            return Redirect(script_name + "/")
        if path == "/" and not script_name and "/" not in self._static and "" in self._static:
            path = ""
        allowed: list[str] = []
        # the common cases first, without the candidates() generator: the first
        # route a static path or the path's bucket has, when it allows the method
        static = self._static.get(path)
        if static is not None:
            for route in static:
                if route.allows(method) or method == "OPTIONS":
                    return Match(route, {})
        elif path.startswith("/"):
            for route in self._buckets.get(path[1:].split("/", 1)[0], ()):
                params = route.match(path)
                if params is not None:
                    if route.allows(method) or method == "OPTIONS":
                        return Match(route, params)
                    break  # a route of another method: the full search lists them
        for route, params in self.candidates(path):
            if route.allows(method) or method == "OPTIONS":
                return Match(route, params)
            allowed.extend(m for m in route.allowed_methods() if m not in allowed)
        return NoMatch(tuple(allowed))

    def has_route(self, path: str) -> bool:
        """True when some route (of any method) answers ``path``, or it is blocked/redirected."""
        result = self.resolve(path, "OPTIONS")
        return not isinstance(result, NoMatch)

    def yields_to_static(self, path: str) -> bool:
        """True when only a catch-all ``"/<path:p>"`` route answers ``path``."""
        result = self.resolve(path, "OPTIONS")
        return isinstance(result, Match) and result.route.catch_all
