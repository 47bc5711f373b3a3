"""A deployment: two engines x 2 workers behind nginx, sharing a Redis (docs/deployment.md).

Every piece runs on loopback ports of its own, started here: ``redis-server``
(``redis_server``), the two engines (``tests/apps/hub_site`` with ``--broker``) and
Debian's nginx with the configuration the docs show, and a PostgreSQL database of
the test's own (``pg_dsn``).  Through nginx, which spreads requests and WebSockets
over both engines: a login holds on every worker of both, a push, a room message,
a broadcast and a state change cross engines, notes written through either engine
are read by every worker of both, and killing one engine mid-load loses no
request (nginx retries the other).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from test_hub_live import (  # noqa: F401 - events is a fixture
    check_broadcast,
    check_logout,
    check_push,
    check_room,
    events,
    get,
    start,
    wait_until,
    worker_pids,
)

from skitai.testing import LiveClient

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
REQUIRED = os.environ.get("CI") == "true" or os.environ.get("ATILA_STACK_REQUIRE_NGINX") == "1"

#: The site's nginx configuration (docs/deployment.md), with the test's ports and paths.
CONFIG = """
daemon off;
worker_processes 1;
{user}
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    upstream engines {{
        server 127.0.0.1:{first} max_fails=1 fail_timeout=30s;
        server 127.0.0.1:{second} max_fails=1 fail_timeout=30s;
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://engines;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_read_timeout 600s;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def notes_db(pg_dsn: str, pg: Any) -> str:
    """The PostgreSQL database both engines keep their notes in (``notes.py``)."""
    with pg.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS note")
        cursor.execute("CREATE TABLE note (id serial PRIMARY KEY, body text, pid int)")
    return pg_dsn


@pytest.fixture
def engines(
    redis_server: Any,
    events: Path,  # noqa: F811
    notes_db: str,
) -> Iterator[list[LiveClient]]:
    env = {"NOTES_DSN": notes_db}
    servers = [start(events, "--broker", redis_server.url, env=env) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def nginx(engines: list[LiveClient], tmp_path: Path) -> Iterator[LiveClient]:
    if NGINX is None:
        if REQUIRED:
            pytest.fail("nginx is not installed (apt-get install nginx-light)")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    directory = tmp_path / "nginx"
    directory.mkdir()
    port = free_port()
    config = directory / "nginx.conf"
    config.write_text(
        CONFIG.format(
            dir=directory, port=port, first=engines[0].port, second=engines[1].port,
            user="user root;" if os.geteuid() == 0 else "",  # its workers would be nobody
        )
    )  # fmt: skip
    process = subprocess.Popen(
        [NGINX, "-p", str(directory), "-c", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(lambda: _accepts(port) or process.poll() is not None, what="nginx listening")
        assert process.poll() is None, (directory / "error.log").read_text()
        yield LiveClient(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(10)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_two_engines_behind_nginx_are_one_application(
    nginx: LiveClient,
    engines: list[LiveClient],
    events: Path,  # noqa: F811
) -> None:
    proxy = [nginx]
    pids = worker_pids(proxy, 4)  # nginx reaches every worker of both engines
    assert len(pids) == 4

    # a login made on one engine holds on every worker of both
    login = requests.get(nginx.base_url + "/login/ann", timeout=10)
    cookie = login.headers["Set-Cookie"].split(";")[0]
    seen: set[str] = set()

    def known_everywhere() -> bool:
        pid, user = get(nginx, "/whoami", cookie).split()
        assert user == "ann", f"worker {pid} does not know the login"
        seen.add(pid)
        return seen == pids

    wait_until(known_everywhere, what="the login on all 4 workers")

    check_push(proxy, pids)
    check_room(proxy, pids)
    check_broadcast(proxy, pids, events, "through-nginx")
    value = get(nginx, "/setlu/news").split()[1]
    agreed: dict[str, str] = {}

    def state_everywhere() -> bool:
        pid, got = get(nginx, "/getlu/news").split()
        agreed[pid] = got
        return set(agreed) == pids and set(agreed.values()) == {value}

    wait_until(state_everywhere, what="the state change on all 4 workers")
    check_logout(proxy, 4, at_once=False)


def test_engines_behind_nginx_share_one_database(
    nginx: LiveClient, engines: list[LiveClient], pg: Any
) -> None:
    per_engine = [worker_pids([engine], 2) for engine in engines]
    writers: set[str] = set()
    for number in range(12):  # a new connection each: nginx spreads them over both engines
        answer = requests.post(
            nginx.base_url + "/notes/add", data={"body": f"note {number}"},
            headers={"Connection": "close"}, timeout=10,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        writers.add(str(answer.json()["pid"]))
    assert all(writers & pids for pids in per_engine), "both engines wrote"
    expected = [f"note {number}" for number in range(12)]
    with pg.cursor() as cursor:
        cursor.execute("SELECT body FROM note ORDER BY id")
        assert [row[0] for row in cursor.fetchall()] == expected
    readers: set[str] = set()

    def every_worker_reads_them() -> bool:
        listing = requests.get(
            nginx.base_url + "/notes/list", headers={"Connection": "close"}, timeout=10
        ).json()
        assert [body for body, _ in listing["rows"]] == expected
        readers.add(str(listing["pid"]))
        return readers == set().union(*per_engine)

    wait_until(every_worker_reads_them, what="every worker of both engines reading the notes")


def test_nginx_fails_over_when_an_engine_dies(nginx: LiveClient, engines: list[LiveClient]) -> None:
    worker_pids([nginx], 4)
    failures: list[str] = []
    answered = [0]
    stop = threading.Event()

    def hammer() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    answer = session.get(nginx.base_url + "/pid", timeout=10)
                    if answer.status_code != 200:
                        failures.append(f"{answer.status_code} {answer.text[:80]}")
                    answered[0] += 1
                except requests.RequestException as exc:
                    failures.append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: answered[0] > 200, what="load flowing")
        victim = engines[0].process
        assert victim is not None
        os.killpg(victim.pid, signal.SIGKILL)  # the whole engine: master and workers
        victim.wait(10)
        before = answered[0]
        wait_until(lambda: answered[0] > before + 500, what="load flowing after the kill")
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert failures == [], failures[:5]
    survivors = {get(nginx, "/pid") for _ in range(20)}
    assert len(survivors) <= 2  # the other engine's two workers answer everything
