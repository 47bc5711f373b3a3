"""The OpenAPI document in-process: routes without methods, WebSocket routes, mounted
directories, app-wide authentication, configurable paths, the page without its assets."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import atila
import skitai
from atila.openapi import build_document, serving

validator = pytest.importorskip("openapi_spec_validator")


@dataclasses.dataclass
class Node:
    """A tree node (a recursive schema)."""

    name: str
    children: list[Node] = dataclasses.field(default_factory=list)


def make_app(tmp_path: Path) -> atila.Atila:
    app = atila.Atila("edge")
    app.config.OPENAPI = True
    app.config.OPENAPI_JSON_PATH = "/spec.json"
    (tmp_path / "hello.txt").write_text("hello")

    @app.route("/any")
    def anything(was: Any, q: str = "") -> Any:
        """Any method."""
        return was.API(q=q)

    @app.route("/tree", methods=["GET"])
    def tree(was: Any) -> Node:
        return Node("root", [Node("leaf")])

    @app.route("/ws")
    @app.websocket(skitai.WS_CHANNEL)
    def ws(was: Any, message: str) -> Any:
        return message

    app.mount("/files", str(tmp_path))
    return app


def test_edges_of_the_document(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    client = app.test_client()
    document = client.get("/spec.json").json()
    validator.validate(document)
    assert client.get("/openapi.json").status_code == 404  # the configured path only
    paths = document["paths"]
    assert list(paths["/any"]) == ["get"]  # no methods=: listed as GET
    assert "/ws" not in paths
    files = paths["/files/{path}"]["get"]["responses"]["200"]["content"]
    assert files == {"*/*": {"schema": {}}}
    assert client.get("/files/hello.txt").text == "hello"
    node = document["components"]["schemas"]["Node"]
    assert node["properties"]["children"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Node"},
    }
    assert client.get("/tree").json() == {
        "name": "root",
        "children": [{"name": "leaf", "children": []}],
    }


def test_app_wide_authentication_is_the_security_of_every_route() -> None:
    app = atila.Atila("guarded")
    app.authenticate = "digest"

    @app.route("/x", methods=["GET"])
    def x(was: Any) -> Any:
        return was.API()

    document = build_document(app, "/api")
    validator.validate(document)
    assert document["servers"] == [{"url": "/api"}]
    assert document["paths"]["/x"]["get"]["security"] == [{"digestAuth": []}]
    assert document["components"]["securitySchemes"]["digestAuth"] == {
        "type": "http",
        "scheme": "digest",
    }


def test_the_page_says_what_to_install_without_its_assets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path)
    monkeypatch.setattr(serving, "assets_directory", lambda: None)
    response = app.test_client().get("/docs", headers={"Accept": "application/json"})
    assert response.status_code == 501
    assert "drf-spectacular-sidecar" in response.json()["detail"]
