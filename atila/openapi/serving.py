"""Serving the document and the interactive page at the app's mount point.

With ``app.config.OPENAPI = True`` the app answers (paths configurable):

* ``OPENAPI_JSON_PATH`` (``/openapi.json``): the document, built on the first
  request and kept until the routes change (a service reload);
* ``OPENAPI_DOCS_PATH`` (``/docs``): Swagger UI (``OPENAPI_UI = "swagger"``,
  the default) or ReDoc (``"redoc"``), whose assets come from the
  ``drf-spectacular-sidecar`` package and are served below
  ``<docs path>/assets/``: no CDN, the page works offline.

These routes live in a small table of their own that
:func:`openapi_table` gives the dispatcher; they pass through the app's
hooks and authentication like any route, and are not in the document.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
from typing import TYPE_CHECKING, Any

from atila.endpoint import Endpoint
from atila.errors import HTTPError
from atila.openapi.document import OPERATION_ATTRIBUTE, build_document
from atila.payloads import File
from atila.routing import RouteTable, compile_route

if TYPE_CHECKING:
    from atila.app import Atila

__all__ = ["ASSETS", "assets_directory", "openapi_table"]

#: asset name -> (directory below the sidecar's static root, media type)
ASSETS = {
    "swagger-ui-bundle.js": ("swagger-ui-dist", "text/javascript"),
    "swagger-ui.css": ("swagger-ui-dist", "text/css"),
    "favicon-32x32.png": ("swagger-ui-dist", "image/png"),
    "redoc.standalone.js": ("redoc/bundles", "text/javascript"),
}
_SIDECAR = "drf_spectacular_sidecar"
_SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{url: {url}, dom_id: "#swagger-ui", deepLinking: true,
  persistAuthorization: true, tryItOutEnabled: false}});
</script></body></html>
"""
_REDOC_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="{url}"></redoc>
<script src="{assets}/redoc.standalone.js"></script></body></html>
"""


def assets_directory() -> str | None:
    """The static root of the installed ``drf-spectacular-sidecar`` (not imported: it
    would import Django), or None when it is not installed."""
    spec = importlib.util.find_spec(_SIDECAR)
    if spec is None or not spec.submodule_search_locations:
        return None
    root = os.path.join(list(spec.submodule_search_locations)[0], "static", _SIDECAR)
    return root if os.path.isdir(root) else None


def _hidden(func: Any) -> Any:
    setattr(func, OPERATION_ATTRIBUTE, False)
    return func


class _Served:
    """The document cache and handlers of one app."""

    def __init__(self, app: Atila) -> None:
        self.app = app
        self._documents: dict[tuple[int, str], bytes] = {}

    def document(self, was: Any) -> Any:
        script_name = was.request.script_name or ""
        key = (id(self.app.routes), script_name)
        document = self._documents.get(key)
        if document is None:
            document = build_document(self.app, script_name)
            # serialized once; not an ``API`` response, which ``expose_spec`` would
            # decorate with a ``__spec__`` key the format does not allow
            document = json.dumps(document, ensure_ascii=False).encode("utf-8")
            self._documents = {key: document}  # a service reload starts afresh
        was.response.set_header("Content-Type", "application/json")
        return document

    def page(self, was: Any) -> Any:
        config = self.app.config
        if assets_directory() is None:
            raise HTTPError(
                501, "the interactive page needs drf-spectacular-sidecar (atila-stack[openapi])"
            )
        base = (was.request.script_name or "").rstrip("/")
        document_url = base + config.get("OPENAPI_JSON_PATH", "/openapi.json")
        assets = html.escape(base + config.get("OPENAPI_DOCS_PATH", "/docs") + "/assets")
        title = html.escape(str(config.get("OPENAPI_TITLE") or self.app.import_name))
        if config.get("OPENAPI_UI") == "redoc":  # the URL in an HTML attribute
            template, url = _REDOC_PAGE, html.escape(document_url)
        else:  # the URL in a script: a JSON string that cannot close the script
            template, url = _SWAGGER_PAGE, json.dumps(document_url).replace("<", "\\u003c")
        was.response.set_header("Content-Type", "text/html; charset=utf-8")
        return template.format(title=title, url=url, assets=assets)

    def asset(self, was: Any, name: str) -> Any:
        root = assets_directory()
        if name not in ASSETS or root is None:
            raise HTTPError(404)
        folder, media_type = ASSETS[name]
        was.response.set_header("Cache-Control", "public, max-age=86400")
        return File(os.path.join(root, folder, name), media_type)


def _route(table: RouteTable, pattern: str, func: Any) -> None:
    route = compile_route(pattern, _hidden(func), endpoint=Endpoint.of(func), methods=["GET"])
    table.add(route)


def openapi_table(app: Atila) -> RouteTable:
    """The routes of the document, the page and its assets for ``app`` (made once)."""
    table: RouteTable | None = getattr(app, "_openapi_table", None)
    if table is None:
        served = _Served(app)
        config = app.config
        docs = "/" + config.get("OPENAPI_DOCS_PATH", "/docs").strip("/")
        table = RouteTable()

        def openapi_document(was: Any) -> Any:
            return served.document(was)

        def openapi_page(was: Any) -> Any:
            return served.page(was)

        def openapi_asset(was: Any, name: str) -> Any:
            return served.asset(was, name)

        _route(
            table,
            "/" + config.get("OPENAPI_JSON_PATH", "/openapi.json").strip("/"),
            openapi_document,
        )
        _route(table, docs, openapi_page)
        _route(table, docs + "/assets/<name>", openapi_asset)
        app._openapi_table = table  # type: ignore[attr-defined]
    return table
