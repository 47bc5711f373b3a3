"""The demo publishes /api/v1 and /api/v2 OpenAPI documents; schemathesis fuzzes both with a
token and finds no 5xx and no answer the documents do not describe."""

from __future__ import annotations

from typing import Any

import pytest

from skitai.testing import LiveClient

validator = pytest.importorskip("openapi_spec_validator")


def token_of(demo: LiveClient) -> str:
    response = demo.post("/api/v1/token", data={"username": "admin", "password": "atila-demo"})
    assert response.status_code == 200
    return str(response.json()["token"])


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_documents_validate(demo: LiveClient, version: str) -> None:
    document = demo.get(f"/api/{version}/openapi.json").json()
    validator.validate(document)
    assert document["servers"] == [{"url": f"/api/{version}"}]
    token = document["paths"]["/token"]["post"]
    assert token["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "username",
        "password",
    ]
    assert "401" in token["responses"] and "security" not in token
    photos = document["paths"]["/{uid}/photos"]["get"]
    assert photos["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "404"} <= set(photos["responses"])
    schemas = document["components"]["schemas"]
    assert schemas["PhotoList"]["properties"]["rows"]["items"] == {
        "$ref": "#/components/schemas/PhotoRow"
    }
    page = demo.get(f"/api/{version}/docs")
    assert page.status_code == 200 and f"/api/{version}/openapi.json" in page.text


def test_v1_documents_its_writes(demo: LiveClient) -> None:
    document = demo.get("/api/v1/openapi.json").json()
    post = document["paths"]["/{uid}/photos"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["required"] == ["title"]
    assert "201" in post["responses"]
    assert "205" in document["paths"]["/{uid}/photos"]["delete"]["responses"]
    assert document["components"]["schemas"]["Me"]["required"][:2] == ["id", "username"]


@pytest.mark.slow
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_schemathesis_finds_nothing(demo: LiveClient, version: str, schemathesis_run: Any) -> None:
    report = schemathesis_run(
        f"{demo.base_url}/api/{version}/openapi.json",
        "--header",
        f"Authorization: Bearer {token_of(demo)}",
        "--max-examples",
        "30",
    )
    assert " failed" not in report
