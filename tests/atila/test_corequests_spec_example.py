"""The spec's first example (``photos`` with ``was.db("@mydb")``), as written, through
a real Skitai server against PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from skitai.testing import LiveClient

SERVE = """
import os
import atila
import skitai

app = atila.Atila(__name__)
app.securekey = "not-so-secret"

@app.permission_check_handler
def permission_check_handler(was, perms):
    if was.request.get_header("authorization") and "err" in was.request.JWT:
        raise was.Error("401 Unauthorized")

@app.route ("/<int:uid>/photos", methods = ["GET", "DELETE", "POST", "OPTIONS"])
@app.permission_required ()
def photos (was, uid, **DATA):
  uid = uid == "me" and was.request.JWT ["uid"] or uid

  with was.db ("@mydb") as db:
    if was.request.method == "GET":
      rows = db.select ("photo").filter (uid = uid).execute ().fetch ()
      return was.API (rows = rows) # [ {id: 1, ...}, ... ]

    elif was.request.method == "DELETE":
      db.delete ("photo").filter (uid = uid).execute ().commit ()
      return was.API ("205 No Content")

    elif was.request.method == "POST":
      if not DATA.get ("title"):
        raise was.Error ("400 Bad Request", "title required")
      DATA ["uid"] = uid
      row = db.insert ("photo").data (**DATA).returning ("id").execute ().one ()
      return was.API ("201 Created", id = row.id)

@app.route ("/token")
def token (was, uid):
    return was.API (token = was.encode_jwt ({"uid": int (uid)}))

if __name__ == "__main__":
    skitai.alias ("@mydb", skitai.DB_PGSQL, os.environ ["TEST_PG_DSN"], max_conns = 4)
    skitai.mount ("/", app)
    skitai.run (workers = 2)
"""


@pytest.fixture
def live(serve: Callable[..., LiveClient], pg: Any, pg_dsn: str, monkeypatch: Any) -> LiveClient:
    with pg.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS photo")
        cursor.execute("CREATE TABLE photo (id serial PRIMARY KEY, uid int NOT NULL, title text)")
    monkeypatch.setenv("TEST_PG_DSN", pg_dsn)
    return serve(SERVE)


def test_photos_crud(live: LiveClient, pg: Any) -> None:
    assert live.get("/7/photos").json() == {"rows": []}

    created = live.post("/7/photos", json={"title": "O'Reilly's cat; DROP TABLE photo"})
    assert created.status_code == 201
    photo_id = created.json()["id"]
    assert isinstance(photo_id, int)
    live.post("/7/photos", json={"title": "second"})
    live.post("/8/photos", json={"title": "other user"})

    rows = live.get("/7/photos").json()["rows"]
    assert [r["title"] for r in rows] == ["O'Reilly's cat; DROP TABLE photo", "second"]
    assert rows[0] == {"id": photo_id, "uid": 7, "title": "O'Reilly's cat; DROP TABLE photo"}

    missing = live.post("/7/photos", json={})
    assert missing.status_code == 400

    deleted = live.delete("/7/photos")
    assert deleted.status_code == 205
    assert live.get("/7/photos").json() == {"rows": []}
    with pg.cursor() as cursor:
        cursor.execute("SELECT uid, title FROM photo")
        assert cursor.fetchall() == [(8, "other user")]


def test_photos_me_with_jwt(live: LiveClient) -> None:
    token = live.get("/token", params={"uid": "12"}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert live.post("/me/photos", json={"title": "mine"}, headers=headers).status_code == 201
    rows = live.get("/me/photos", headers=headers).json()["rows"]
    assert [(r["uid"], r["title"]) for r in rows] == [(12, "mine")]
