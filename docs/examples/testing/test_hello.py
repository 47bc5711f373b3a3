"""Two ways to test an Atila app with pytest.

* ``Client(app)`` calls the app in the test's process: no socket, no server, fast.
  Use it for most tests.
* ``test_client("serve.py")`` starts your real server script on a free port and
  gives a ``requests.Session`` bound to it: the engine, its mounts and workers, as
  in production.
"""

from pathlib import Path

import pytest
from hello import app

from skitai.testing import Client, test_client

SERVE = Path(__file__).resolve().parent / "serve.py"


def test_in_process() -> None:
    client = Client(app)
    response = client.get("/hello/world", params={"greeting": "Hi"})
    assert response.status_code == 200
    assert response.json() == {"message": "Hi, world"}
    assert client.get("/hello/world?colour=red").status_code == 400


@pytest.fixture(scope="module")
def live():
    with test_client(SERVE, devel=False) as client:  # stopped when the block ends
        yield client


def test_live_server(live) -> None:
    response = live.get("/hello/world")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"message": "Hello, world"}
