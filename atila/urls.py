"""URL building from routes: ``was.urlfor``, ``was.urlpatch``, ``was.basepath``.

Spec sections "Building URL", "Building URL by Updating Parameters Partially"
and "Building Base URL without Parameters".  ``urlfor`` works like calling the
handler: positional arguments fill the handler's parameters in order, keyword
arguments by name; URL parameters go into the path, the others into the query
string (``None`` values are left out).  String values have their spaces turned
into ``_``.  The mount point (``SCRIPT_NAME``) is put in front.

A handler is named by its function, its function name (``"index"``), or its
module path below a ``services`` package plus its name
(``"boards.index.search"`` for ``myapp.services.boards.index.search``); a
module that is not under ``services`` is named by its full module path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from atila.routing import BuildError, Route, RouteTable

__all__ = ["BuildError", "URLBuilder", "handler_names"]


def handler_names(func: Callable[..., Any]) -> tuple[str, ...]:
    """The names ``was.urlfor``/``was.pipe`` accept for ``func``."""
    short = getattr(func, "__name__", "")
    module = getattr(func, "__module__", "") or ""
    names = [short]
    parts = module.split(".")
    if "services" in parts:
        below = parts[len(parts) - parts[::-1].index("services") :]
        if below:
            names.append(".".join([*below, short]))
    elif module and module != "__main__":
        names.append(f"{module}.{short}")
    return tuple(dict.fromkeys(n for n in names if n))


def _parameter_names(route: Route) -> tuple[str, ...]:
    signature = getattr(route.endpoint, "signature", None)
    if signature is None:
        return route.url_params
    return tuple(signature.names)


def _query_string(values: Mapping[str, Any]) -> str:
    pairs = [(k, v) for k, v in values.items() if v is not None]
    # spaces as %20, as the spec shows: urlfor("search:query", "Your Name") -> ?q=Your%20Name
    return urlencode(pairs, doseq=True, quote_via=quote) if pairs else ""


class URLBuilder:
    """Builds URLs for the routes of one :class:`~atila.routing.RouteTable`."""

    def __init__(self, routes: RouteTable) -> None:
        self.routes = routes

    def _routes(self, target: Any) -> list[Route]:
        found = self.routes.routes_for(target)
        if not found:
            raise BuildError(f"no route for {target!r}")
        return found

    def _build(self, route: Route, values: dict[str, Any], script_name: str) -> str:
        url_values = {name: values.pop(name) for name in route.url_params if name in values}
        path = route.build(url_values)
        if not path and not script_name:
            path = "/"
        query = _query_string(values)
        return script_name + path + ("?" + query if query else "")

    def urlfor(self, target: Any, *args: Any, script_name: str = "", **kwargs: Any) -> str:
        """URL of ``target`` (a handler or its name) called with ``args``/``kwargs``.

        With several routes on one handler, the first registered one that can
        be built from the given values is used.  Raises :class:`BuildError`
        for an unknown target, too many positional arguments or a missing
        URL parameter.
        """
        last_error: BuildError | None = None
        for route in self._routes(target):
            names = _parameter_names(route)
            if len(args) > len(names):
                last_error = BuildError(f"{target!r} takes {len(names)} arguments, got {len(args)}")
                continue
            values = dict(zip(names, args, strict=False))
            values.update(kwargs)
            try:
                return self._build(route, values, script_name)
            except BuildError as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    def urlpatch(
        self, target: Any, current: Mapping[str, Any], script_name: str = "", **kwargs: Any
    ) -> str:
        """URL of ``target`` keeping the ``current`` request's values, updated by ``kwargs``.

        Only values the target's handler takes are kept (all of them when it
        has ``**kwargs``).
        """
        route = self._routes(target)[0]
        names = set(_parameter_names(route)) | set(route.url_params)
        takes_all = getattr(getattr(route.endpoint, "signature", None), "var_keyword", None)
        values = {k: v for k, v in current.items() if takes_all or k in names}
        values.update(kwargs)
        return self.urlfor(target, script_name=script_name, **values)

    def basepath(self, target: Any, script_name: str = "") -> str:
        """The path of ``target`` up to its first URL parameter (``/user/<id>`` -> ``/user/``)."""
        return script_name + self._routes(target)[0].basepath()
