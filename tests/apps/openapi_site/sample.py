"""A sample API covering every ``@app.inspect`` option, URL converter, annotation kind and
auth decorator: for tests/atila/test_openapi.py (the document, schemathesis, a browser)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Literal, TypedDict

import services

import atila
from atila.openapi import operation

app = atila.Atila(__name__)
app.config.OPENAPI = True
app.config.OPENAPI_TITLE = "Sample API"
app.config.OPENAPI_VERSION = "1.0"
app.securekey = "sample-secret"
#: the bearer token the login handler and ``authorization_required("bearer")`` accept
TOKEN = "sample-token"


class Item(TypedDict):
    """An item."""

    item_id: int
    limit: int
    tags: list[str]


@dataclasses.dataclass
class Echo:
    """What a body handler received."""

    name: str
    count: int = 1


@app.bearer_handler
def check_bearer(was: Any, token: str) -> str | None:
    return None if token == TOKEN else "invalid token"


@app.login_handler
def check_login(was: Any) -> Any:
    if was.request.get_header("authorization") != f"Bearer {TOKEN}":
        raise was.Error("401 Unauthorized", "a bearer token is required")
    return None


@app.route("/items/<int:item_id>", methods=["GET"])
def get_item(was: Any, item_id: int, limit: int = 10, tags: list[str] | None = None) -> Item:
    """One item.

    Annotated parameters: converted and validated like ``@app.inspect``.
    """
    return {"item_id": item_id, "limit": limit, "tags": tags or []}


@app.route("/echo", methods=["POST"])
def echo(was: Any, name: str, count: int = 1) -> Echo:
    """Echo a JSON or form body."""
    return Echo(name, count)


@app.route("/types", methods=["GET"])
@app.inspect(
    ints=["i"], floats=["f"], emails=["e"], uuids=["u"], strings=["s"], booleans=["b"],
    lists=["l"], nones=["n"], dicts=["d"], notags=["t"], safes=["sf"],
    typed=int, either=[int, str],
)  # fmt: skip
def types(was: Any, **args: Any) -> Any:
    """Every type keyword of ``@app.inspect``."""
    return was.API(given=sorted(args))


@app.route("/ranges", methods=["GET"])
@app.inspect(
    required=["a"],
    a__gte=1, a__lte=100, b__gt=0, b__lt=10, c__between=(5, 8), d__eq=3, e__neq=4,
    g__in=["x", "y"], h__notin=["z"], k__startswith="pre", m__endswith="fix",
    o__notstartwith="no", p__notendwith="no", q__contains="mid", r__notcontain="bad",
    s__len__between=(2, 5), w__len__gte=1, x=re.compile("^[a-z]+$"), y="fixed",
)  # fmt: skip
def ranges(was: Any, **args: Any) -> Any:
    """Every operator of ``@app.inspect``, lengths and a pattern."""
    return was.API(given=sorted(args))


@app.route("/groups", methods=["GET"])
@app.inspect(oneof=["a", "b"], manyof=["c", "d"])
def groups(was: Any, a: str = "", b: str = "", c: str = "", d: str = "") -> Any:
    """``oneof`` and ``manyof``."""
    return was.API(a=a, b=b, c=c, d=d)


@app.route("/scoped", methods=["GET", "POST"])
@app.inspect("URL", ints=["page"])
@app.inspect("JSON", data___score__gte=1)
@app.inspect("POST", required=["title"], title__len__lte=20)
def scoped(was: Any, page: int = 1, title: str = "", data: dict[str, Any] | None = None) -> Any:
    """Scopes: URL, JSON (a node of a JSON object) and one method."""
    return was.API(page=page, title=title)


@app.route("/numbers/<float:x>/<path:rest>", methods=["GET"])
def numbers(was: Any, x: float, rest: str) -> Any:
    """The ``float`` and ``path`` converters."""
    return was.API(x=x, rest=rest)


@app.route("/episodes/<int:uid>/<name>", methods=["GET"])
def episodes(was: Any, uid: int | str, name: str) -> Any:
    """``<int:uid>`` takes ``me``, ``notme`` and ``new`` too."""
    return was.API(uid=uid, name=name)


@app.route("/pages/<int:num>", methods=["GET"])
def pages(was: Any, num: int | None = None, mode: Literal["short", "long"] = "short") -> Any:
    """An optional trailing parameter: ``/pages`` and ``/pages/{num}``."""
    return was.API(num=num, mode=mode)


@app.route("/private", methods=["GET"])
@app.login_required
def private(was: Any) -> Any:
    """Needs the login handler's bearer token."""
    return was.API(ok=True)


@app.route("/bearer", methods=["GET"])
@app.authorization_required("bearer")
def bearer(was: Any) -> Any:
    """Needs ``Authorization: Bearer``."""
    return was.API(ok=True)


@app.route("/created", methods=["POST"])
@operation(responses={"201": {"description": "Created"}})
def created(was: Any, title: str) -> Any:
    """Declares its 201 with ``atila.openapi.operation``."""
    return was.API("201 Created", title=title)


@app.route("/hidden")
@operation(hidden=True)
def hidden(was: Any) -> Any:
    return was.API()


app.mount("/svc", services)
