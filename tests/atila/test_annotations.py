"""Type annotations on handler parameters convert and validate like ``@app.inspect``."""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Annotated, Any, Literal, TypedDict

import pytest

import atila


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 2


class Point(TypedDict):
    x: int
    y: int


app = atila.Atila(__name__)


@app.route("/items/<int:item_id>")
def get_item(was: Any, item_id: int, limit: int = 10, tags: list[str] | None = None) -> Any:
    return was.API(
        item_id=item_id,
        limit=limit,
        tags=tags,
        args_limit=was.request.ARGS["limit"] if "limit" in was.request.ARGS else None,
    )


@app.route("/kinds", methods=["GET", "POST"])
def kinds(
    was: Any,
    ratio: float = 1.0,
    flag: bool = False,
    when: datetime.date | None = None,
    color: Color = Color.RED,
    size: Size = Size.SMALL,
    mode: Literal["fast", "slow"] = "fast",
    ident: uuid.UUID | None = None,
    counts: list[int] | None = None,
    point: Point | None = None,
    label: Annotated[str, "shown"] = "x",
    anything: Any = None,
) -> Any:
    return was.API(
        ratio=ratio,
        flag=flag,
        when=when.isoformat() if when else None,
        color=color.value,
        size=int(size),
        mode=mode,
        ident=str(ident) if ident else None,
        counts=counts,
        point=point,
        label=label,
        anything=anything,
    )


@app.route("/plain")
def plain(was: Any, limit=10) -> Any:  # noqa: ANN001 - unannotated on purpose
    return was.API(limit=limit)


@app.route("/both")
@app.inspect(ints=["n"], n__gte=1)
def both(was: Any, n: int = 1) -> Any:
    return was.API(n=n)


@pytest.fixture(scope="module")
def client() -> Any:
    return app.test_client()


def test_annotated_parameters_are_converted(client: Any) -> None:
    data = client.get("/items/3?limit=5&tags=a&tags=b").json()
    assert data == {"item_id": 3, "limit": 5, "tags": ["a", "b"], "args_limit": 5}
    assert client.get("/items/3?tags=one").json()["tags"] == ["one"]
    assert client.get("/items/3").json()["limit"] == 10


def test_a_bad_value_is_a_400_naming_the_parameter(client: Any) -> None:
    response = client.get("/items/3?limit=abc")
    assert response.status_code == 400
    assert response.json()["param"] == "limit"
    assert "limit must be an integer" in response.json()["detail"]
    repeated = client.get("/items/3?limit=1&limit=2")
    assert repeated.status_code == 400 and "more than once" in repeated.json()["detail"]


def test_many_kinds_from_a_query(client: Any) -> None:
    query = (
        "ratio=2.5&flag=yes&when=2024-02-29&color=blue&size=2&mode=slow"
        "&ident=12345678-1234-5678-1234-567812345678&counts=1&counts=2&label=hi&anything=7"
    )
    assert client.get("/kinds?" + query).json() == {
        "ratio": 2.5,
        "flag": True,
        "when": "2024-02-29",
        "color": "blue",
        "size": 2,
        "mode": "slow",
        "ident": "12345678-1234-5678-1234-567812345678",
        "counts": [1, 2],
        "point": None,
        "label": "hi",
        "anything": "7",
    }
    assert client.get("/kinds?when=").json()["when"] is None


def test_many_kinds_from_a_json_body(client: Any) -> None:
    body = {"ratio": 3, "flag": False, "counts": [4, "5"], "point": {"x": 1, "y": 2}}
    data = client.post("/kinds", json=body).json()
    assert data["ratio"] == 3.0 and data["counts"] == [4, 5] and data["point"] == {"x": 1, "y": 2}


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("ratio=x", "ratio"),
        ("flag=maybe", "flag"),
        ("when=2024-13-01", "when"),
        ("color=green", "color"),
        ("size=3", "size"),
        ("mode=medium", "mode"),
        ("ident=nope", "ident"),
        ("counts=1&counts=x", "counts"),
        ("point=%7B%22x%22%3A1%7D", "point"),
    ],
)
def test_many_kinds_refuse_bad_values(client: Any, query: str, param: str) -> None:
    response = client.get("/kinds?" + query)
    assert response.status_code == 400, response.text
    assert response.json()["param"] == param


def test_null_for_a_non_optional_annotation_is_a_400(client: Any) -> None:
    response = client.post("/kinds", json={"ratio": None})
    assert response.status_code == 400 and response.json()["param"] == "ratio"


def test_unannotated_handlers_behave_as_before(client: Any) -> None:
    assert client.get("/plain?limit=abc").json() == {"limit": "abc"}


def test_annotations_after_inspect(client: Any) -> None:
    assert client.get("/both?n=4").json() == {"n": 4}
    assert client.get("/both?n=0").status_code == 400


def test_unresolvable_annotations_are_not_checked() -> None:
    local = atila.Atila("local")

    @local.route("/")
    def index(was: Any, value: Missing = None) -> Any:  # type: ignore[name-defined]  # noqa: F821
        return was.API(value=value)

    assert local.test_client().get("/?value=x").json() == {"value": "x"}
