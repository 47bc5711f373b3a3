"""The OpenAPI document through a live server: it validates, says what the app declares,
and schemathesis finds no 5xx and no response that contradicts it.

The sample app (``tests/apps/openapi_site/sample.py``) covers every ``@app.inspect``
option, every URL converter, annotations, auth decorators and a mounted service.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skitai.testing import LiveClient, test_client

SITE = Path(__file__).resolve().parents[1] / "apps" / "openapi_site"
validator = pytest.importorskip("openapi_spec_validator")
TOKEN = "sample-token"


@pytest.fixture(scope="module")
def site() -> Iterator[LiveClient]:
    client = test_client(SITE / "serve.py", devel=False)
    yield client
    client.stop()


@pytest.fixture(scope="module")
def document(site: LiveClient) -> dict[str, Any]:
    response = site.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return dict(response.json())


def _params(document: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    operation = document["paths"][path][method]
    return {p["name"]: p for p in operation.get("parameters", ())}


def _schemas(document: dict[str, Any], path: str) -> dict[str, Any]:
    params = _params(document, path).items()
    # a JSON object in the query string is described with ``content``
    return {n: p.get("schema") or p["content"]["application/json"]["schema"] for n, p in params}


def test_the_document_validates(document: dict[str, Any], site: LiveClient) -> None:
    validator.validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "Sample API", "version": "1.0"}
    assert document["servers"] == [{"url": "/api"}]
    other = site.get("/other/spec.json").json()
    validator.validate(other)  # with expose_spec on, too
    assert "__spec__" in site.get("/other/hello").json()
    assert list(other["paths"]) == ["/hello"] and other["servers"] == [{"url": "/other"}]


def test_url_converters(document: dict[str, Any]) -> None:
    episodes = _schemas(document, "/episodes/{uid}/{name}")
    assert episodes["uid"] == {
        "anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "enum": ["me", "notme", "new"]},
        ]
    }
    assert episodes["name"] == {"type": "string", "pattern": "^[^/]+$"}
    numbers = _schemas(document, "/numbers/{x}/{rest}")
    assert numbers["x"]["pattern"] == r"^-?\d+(\.\d+)?$"
    assert numbers["rest"] == {"type": "string", "minLength": 1}
    # ``item_id: int`` refuses the keywords: integers only
    assert _schemas(document, "/items/{item_id}")["item_id"] == {"type": "integer", "minimum": 0}
    # an optional trailing parameter: both paths
    assert "/pages" in document["paths"] and "/pages/{num}" in document["paths"]


def test_annotations_defaults_docstrings_and_return_types(document: dict[str, Any]) -> None:
    operation = document["paths"]["/items/{item_id}"]["get"]
    assert operation["summary"] == "One item."
    assert "validated like" in operation["description"]
    params = _params(document, "/items/{item_id}")
    assert params["limit"]["schema"] == {"type": "integer", "default": 10}
    assert params["tags"]["schema"] == {
        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]
    }
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Item"}
    item = document["components"]["schemas"]["Item"]
    assert item["required"] == ["item_id", "limit", "tags"]
    assert item["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    echo = document["paths"]["/echo"]["post"]
    body = echo["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["name"] and body["additionalProperties"] is False
    assert body["properties"]["count"] == {"type": "integer", "default": 1}
    assert set(echo["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert echo["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Echo"
    }
    assert document["components"]["schemas"]["Echo"]["required"] == ["name"]
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "message"] and "param" in error["properties"]
    bad = operation["responses"]["400"]["content"]["application/json"]["schema"]
    assert bad == {"$ref": "#/components/schemas/Error"}


def test_every_inspect_type_keyword(document: dict[str, Any]) -> None:
    schemas = _schemas(document, "/types")
    assert schemas["i"] == {"type": "integer"}
    assert schemas["f"] == {"type": "number"}
    assert schemas["e"] == {"type": "string", "format": "email"}
    assert schemas["u"] == {"type": "string", "format": "uuid"}
    assert schemas["s"] == {"type": "string"}
    assert schemas["b"] == {"type": "boolean"}
    assert schemas["l"] == {"type": "array", "items": {"type": "string"}}
    assert schemas["d"] == {"type": "object"}
    assert schemas["n"] == {"type": "string"}
    assert schemas["typed"] == {"type": "integer"}
    assert schemas["either"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    params = _params(document, "/types")
    assert "escaped" in params["t"]["description"]
    assert "markup" in params["sf"]["description"]


def test_every_inspect_operator(document: dict[str, Any]) -> None:
    schemas = _schemas(document, "/ranges")
    assert _params(document, "/ranges")["a"]["required"] is True
    assert schemas["a"] == {"type": "number", "minimum": 1, "maximum": 100}
    assert schemas["b"] == {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10}
    assert schemas["c"] == {"type": "number", "minimum": 5, "maximum": 8}
    assert schemas["d"] == {"type": "number", "const": 3}
    assert schemas["e"] == {"type": "number", "not": {"const": 4}}
    assert schemas["g"] == {"enum": ["x", "y"]}
    assert schemas["h"]["not"] == {"enum": ["z"]}
    assert schemas["k"]["pattern"] == "^pre" and schemas["m"]["pattern"] == "fix$"
    assert schemas["o"]["not"] == {"pattern": "^no"} and schemas["p"]["not"] == {"pattern": "no$"}
    assert schemas["q"]["pattern"] == "mid" and schemas["r"]["not"] == {"pattern": "bad"}
    assert schemas["s"]["minLength"] == 2 and schemas["s"]["maxLength"] == 5
    assert schemas["w"]["minLength"] == 1
    assert schemas["x"]["pattern"] == "^[a-z]+$"
    assert schemas["y"] == {"const": "fixed"}
    groups = document["paths"]["/groups"]["get"]["description"]
    assert "at least one of a, b is required" in groups
    assert "c, d must be given together" in groups


def test_scopes(document: dict[str, Any]) -> None:
    get = _params(document, "/scoped")
    assert get["page"]["schema"] == {"type": "integer", "default": 1}
    assert "title" in get and get["title"].get("required") is None
    post = document["paths"]["/scoped"]["post"]["requestBody"]["content"]["application/json"]
    assert post["schema"]["required"] == ["title"]
    assert post["schema"]["properties"]["title"]["maxLength"] == 20
    assert "data___score__gte" in post["schema"]["properties"]["data"]["description"]


def test_auth_and_error_responses(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes == {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    for path in ("/private", "/bearer"):
        operation = document["paths"][path]["get"]
        assert operation["security"] == [{"bearerAuth": []}]
        assert "401" in operation["responses"]
    assert "security" not in document["paths"]["/types"]["get"]
    assert "404" in document["paths"]["/pages/{num}"]["get"]["responses"]
    assert "201" in document["paths"]["/created"]["post"]["responses"]


def test_services_are_tagged_and_hidden_routes_left_out(document: dict[str, Any]) -> None:
    assert document["paths"]["/svc/ping"]["get"]["tags"] == ["services"]
    assert "/hidden" not in document["paths"]
    assert not any(
        path.startswith("/docs") or path == "/openapi.json" for path in document["paths"]
    )


def test_the_pages_and_their_assets_are_served_offline(site: LiveClient) -> None:
    page = site.get("/api/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert (
        '"/api/openapi.json"' in page.text and "/api/docs/assets/swagger-ui-bundle.js" in page.text
    )
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN
    script = site.get("/api/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert site.get("/api/docs/assets/nope.js").status_code == 404
    redoc = site.get("/other/explorer")
    assert redoc.status_code == 200 and "/other/explorer/assets/redoc.standalone.js" in redoc.text
    assert site.get("/other/explorer/assets/redoc.standalone.js").status_code == 200


def test_openapi_is_off_by_default() -> None:
    import atila

    app = atila.Atila("plain")

    @app.route("/x")
    def x(was: Any) -> Any:
        return was.API()

    client = app.test_client()
    assert client.get("/openapi.json").status_code == 404
    assert client.get("/docs").status_code == 404


@pytest.mark.slow
def test_schemathesis_finds_nothing(site: LiveClient, schemathesis_run: Any) -> None:
    report = schemathesis_run(
        site.base_url + "/api/openapi.json",
        "--header",
        f"Authorization: Bearer {TOKEN}",
        "--max-examples",
        "40",
        config=SITE / "schemathesis.toml",
    )
    assert "15 selected / 15 total" in report
    assert " failed" not in report
