"""HTTPS and WSS: ``skitai.run(certfile=..., keyfile=...)`` / ``--certfile --keyfile``.

The certificate is a throwaway self-signed one for 127.0.0.1 made with the
``openssl`` command; clients verify against it.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from websockets.sync.client import connect

from skitai.testing import LiveClient

SERVE = """
import skitai, atila

app = atila.Atila(__name__)

@app.route("/")
def index(was):
    return was.API(scheme=was.request.env["wsgi.url_scheme"])

@app.route("/echo")
@app.websocket(skitai.WS_CHANNEL | skitai.WS_NOTHREAD, 60)
def echo(was, message):
    return message

skitai.mount("/", app)
skitai.run(workers=1, threads=2)
"""


def test_https_and_wss(serve: Callable[..., LiveClient], certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server = serve(SERVE, "--certfile", str(cert), "--keyfile", str(key))
    base = f"https://127.0.0.1:{server.port}"
    answer = requests.get(base + "/", verify=str(cert), timeout=5)
    assert answer.status_code == 200 and answer.json() == {"scheme": "https"}
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{server.port}/", timeout=5)  # plain HTTP is refused
    context = ssl.create_default_context(cafile=str(cert))
    with connect(f"wss://127.0.0.1:{server.port}/echo", ssl=context) as ws:
        ws.send("secure")
        assert ws.recv(timeout=5) == "secure"


def test_a_bad_certificate_stops_the_start(tmp_path: Path) -> None:
    import sys

    script = tmp_path / "serve.py"
    script.write_text(SERVE)
    missing = tmp_path / "missing.pem"
    result = subprocess.run(
        [sys.executable, str(script), "--port", "0", "--certfile", str(missing)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "cannot load certificate" in result.stderr
