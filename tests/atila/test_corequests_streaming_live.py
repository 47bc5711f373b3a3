"""Request and bidirectional streaming in coroutine handlers (``yield was.Input(n)``),
through a real Skitai server; the body is larger than the engine's buffer, so it
streams into the handler."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

from skitai.testing import LiveClient

SERVE = """
import hashlib
import atila
import skitai

app = atila.Atila(__name__)

@app.route("/upload", methods=["POST"], coroutine=True, input_stream=True)
def upload(was):
    digest = hashlib.sha256()
    size = 0
    while 1:
        data = yield was.Input(65536)
        if not data:
            break
        digest.update(data)
        size += len(data)
    return was.API(size=size, sha256=digest.hexdigest())

@app.route("/echo", methods=["POST"], coroutine=True, input_stream=True)
def echo(was):
    while 1:
        data = yield was.Input(16184)
        if not data:
            break
        yield b":" + data[:4]

if __name__ == "__main__":
    skitai.mount("/", app)
    skitai.run(threads=1)
"""


def _chunks(total: int, size: int) -> Iterator[bytes]:
    for offset in range(0, total, size):
        yield bytes((offset // size) % 256 for _ in range(min(size, total - offset)))


def test_request_streaming(serve: Callable[..., LiveClient]) -> None:
    live = serve(SERVE)
    total = 3 * 1024 * 1024
    expected = hashlib.sha256(b"".join(_chunks(total, 65536))).hexdigest()
    response = live.post("/upload", data=_chunks(total, 65536))  # chunked upload
    assert response.json() == {"size": total, "sha256": expected}
    small = live.post("/upload", data=b"hello")
    assert small.json() == {"size": 5, "sha256": hashlib.sha256(b"hello").hexdigest()}


def test_bidirectional_streaming(serve: Callable[..., LiveClient]) -> None:
    live = serve(SERVE)
    response = live.post("/echo", data=b"abcdefgh" * 5000)
    assert response.status_code == 200
    assert response.content.startswith(b":abcd")
    assert response.content.count(b":") >= 2
