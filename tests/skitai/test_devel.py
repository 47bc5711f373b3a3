"""``--devel`` through a live server: tracebacks in error responses, code reloading.

The site in ``devel_site/`` is copied to a temporary directory and run with
``--devel``; the tests edit the copy's ``greeting.py`` and poll (against a
deadline) until the server answers with the new code.
"""

from __future__ import annotations

import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from skitai.cli import is_running
from skitai.testing import LiveClient, test_client

SITE = Path(__file__).with_name("devel_site")
#: Seconds a reload may take: a new interpreter imports the site, then its worker starts.
RELOAD_DEADLINE = 30.0
_GREETING = re.compile(r"(.+) devel=(\w+) pid=(\d+) ppid=(\d+)")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SITE, tmp_path / "site"))


@pytest.fixture
def devel(site: Path) -> Iterator[LiveClient]:
    client = test_client(site / "serve.py", devel=True)
    yield client
    client.stop()


def greeting(client: LiveClient) -> tuple[str, str, int, int]:
    """``(version, devel, worker pid, master pid)`` from ``/``, on a fresh connection."""
    text = requests.get(client.base_url + "/", headers={"Connection": "close"}, timeout=10).text
    match = _GREETING.fullmatch(text)
    assert match, text
    return match[1], match[2], int(match[3]), int(match[4])


def wait_until(predicate: Callable[[], bool], deadline: float = RELOAD_DEADLINE) -> None:
    """Poll ``predicate`` (the server's answer, its output) until true, or fail at the deadline."""
    end = time.monotonic() + deadline
    while not predicate():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.05)


def edit_version(site: Path, version: str) -> None:
    module = site / "greeting.py"
    text = re.sub(r'VERSION = ".*"', f'VERSION = "{version}"', module.read_text())
    module.write_text(text)


def test_a_crashing_wsgi_app_shows_its_traceback(devel: LiveClient) -> None:
    response = devel.get("/crash")
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.text.startswith("Internal Server Error\n\nTraceback (most recent call last):")
    assert 'greeting.py", line' in response.text
    assert response.text.rstrip().endswith("ZeroDivisionError: plain app crashed on purpose")


def test_without_devel_a_crash_shows_no_traceback(site: Path) -> None:
    with test_client(site / "serve.py", devel=False) as client:
        response = client.get("/crash")
        assert (response.status_code, response.text) == (500, "Internal Server Error\n")
        assert client.get("/api/debug").json() == {"debug": False}
        # no debug_only service: the request falls through to the app mounted at /
        assert client.get("/api/tools").text.startswith("version 1 ")
        assert greeting(client)[1] == "None"  # no skitai.devel in the environ


def test_atila_apps_run_in_debug_mode(devel: LiveClient) -> None:
    assert greeting(devel)[1] == "True"  # environ["skitai.devel"]
    assert devel.get("/api/debug").json() == {"debug": True}
    assert devel.get("/api/tools").text == "debug tools"  # debug_only services mount too
    page = devel.get("/api/crash", headers={"Accept": "text/html"})
    assert page.status_code == 500
    assert "LookupError: atila handler crashed on purpose" in page.text
    assert "atila_app.py" in page.text
    api = devel.get("/api/crash", headers={"Accept": "application/json"})
    assert api.status_code == 500
    trace = api.json()["traceback"]  # Atila's format: the message, then one line per frame
    assert trace[0] == "atila handler crashed on purpose"
    assert "atila_app.py" in trace[-1]


def test_editing_a_mounted_module_changes_the_answer(site: Path, devel: LiveClient) -> None:
    version, _, _, old_master = greeting(devel)
    assert version == "version 1"
    edit_version(site, "version 2")
    answers: list[str] = []

    def reloaded() -> bool:
        answers.append(greeting(devel)[0])  # never a refused or cut connection meanwhile
        return answers[-1] == "version 2"

    wait_until(reloaded)
    # the new server serves as soon as its worker runs; the old one stops once the new
    # one is ready (a second later), and its process is reaped
    wait_until(lambda: not is_running(old_master))
    assert set(answers) <= {"version 1", "version 2"}
    version, _, _, new_master = greeting(devel)
    assert (version, new_master != old_master) == ("version 2", True)
    assert devel.process is not None
    assert devel.process.poll() is None  # the reloader itself keeps running


def test_code_that_does_not_start_leaves_the_previous_version_serving(
    site: Path, devel: LiveClient
) -> None:
    assert greeting(devel)[0] == "version 1"  # the first server runs
    module = site / "greeting.py"
    good = module.read_text()
    module.write_text(good + "\nthis line is not Python\n")
    assert devel.server is not None
    server = devel.server
    wait_until(lambda: "the changed code does not start" in server.output_tail())
    assert "SyntaxError" in server.output_tail()
    assert greeting(devel)[0] == "version 1"
    module.write_text(good.replace('"version 1"', '"version 3"'))
    wait_until(lambda: greeting(devel)[0] == "version 3")


def test_sighup_restarts_the_workers_and_sigterm_stops_everything(devel: LiveClient) -> None:
    _, _, worker, master = greeting(devel)
    assert devel.process is not None
    devel.process.send_signal(signal.SIGHUP)  # passed on to the server: a rolling restart
    wait_until(lambda: greeting(devel)[2] != worker)
    assert greeting(devel)[3] == master  # same server, same code, new worker
    devel.process.send_signal(signal.SIGTERM)
    assert devel.process.wait(30) == 0
    assert not is_running(master)
