"""One application over many processes: push, room and broadcast cross workers (and hosts).

``tests/apps/hub_site`` runs with 2 workers.  Without a broker the workers
talk through the embedded hub; with Redis (a ``redis-server`` this module
starts on a port and directory of its own) two engines of 2 workers each act
as one application.  Every answer names its worker's pid: each test makes sure
the WebSocket connections and the requests that reach them landed on
different workers, and every delivery must succeed.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.sync.client import ClientConnection, connect

from skitai.testing import LiveClient, test_client

SITE = Path(__file__).resolve().parents[1] / "apps" / "hub_site"
WAIT = 20.0
ROOM_SIZE = 8


def wait_until(predicate: Callable[[], Any], timeout: float = WAIT, what: str = "") -> Any:
    """Ask ``predicate`` again every 20 ms until it is truthy (another process's doing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what or predicate}")
        time.sleep(0.02)


def get(server: LiveClient, path: str, cookie: str = "") -> str:
    """GET over a new connection (so the kernel picks the worker anew)."""
    headers = {"Connection": "close", **({"Cookie": cookie} if cookie else {})}
    answer = requests.get(server.base_url + path, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.text


def ws_url(server: LiveClient, path: str) -> str:
    return server.base_url.replace("http://", "ws://") + path


def worker_pids(servers: list[LiveClient], count: int) -> set[str]:
    """The pids of ``count`` workers, seen answering (all are up and subscribed)."""
    seen: set[str] = set()
    wait_until(
        lambda: seen.update(get(s, "/pid") for s in servers) or len(seen) >= count,
        what=f"{count} workers answering",
    )
    return seen


class Member:
    """A WebSocket client of the chat room, and the worker holding it."""

    def __init__(self, server: LiveClient) -> None:
        self.ws: ClientConnection = connect(ws_url(server, "/chat"), legacy=True)
        greeting = self.ws.recv(timeout=10)
        assert greeting.startswith("pid ")
        self.pid = greeting.split()[1]

    def recv(self) -> str:
        return str(self.ws.recv(timeout=10))


def room_across(servers: list[LiveClient], pids: set[str]) -> list[Member]:
    """``ROOM_SIZE`` members spread over every worker in ``pids`` (as evenly as it goes)."""
    members: list[Member] = []
    per_worker = ROOM_SIZE // len(pids)
    attempts = 0
    while len(members) < ROOM_SIZE:
        attempts += 1
        assert attempts < 400, f"could not spread the room over {pids}"
        member = Member(servers[attempts % len(servers)])
        if sum(m.pid == member.pid for m in members) >= per_worker:
            member.ws.close()
            continue
        members.append(member)
    return members


def push_subscriber(server: LiveClient) -> tuple[ClientConnection, str, str]:
    """The spec's client: a WebSocket whose id onopen keeps in the session; (ws, pid, cookie)."""
    ws = connect(ws_url(server, "/websocket"), legacy=True)
    ws.send("who")
    pid = str(ws.recv(timeout=10)).split()[0]
    cookie = ws.response.headers["Set-Cookie"].split(";")[0]
    return ws, pid, cookie


def check_push(servers: list[LiveClient], pids: set[str], rounds: int = 20) -> None:
    """``item_in_stock`` reaches the client every time, from every worker, and in order."""
    ws, ws_pid, cookie = push_subscriber(servers[0])
    try:
        senders: set[str] = set()
        for index in range(rounds):
            pid, sent = get(servers[index % len(servers)], "/item_in_stock", cookie).split()
            senders.add(pid)
            assert sent == "True"
            assert ws.recv(timeout=10) == "Item In Stock!"
        while senders == {ws_pid}:  # every request landed on the client's worker: try again
            pid, sent = get(servers[-1], "/item_in_stock", cookie).split()
            senders.add(pid)
            assert sent == "True" and ws.recv(timeout=10) == "Item In Stock!"
        assert senders - {ws_pid}, "no push crossed workers"
    finally:
        ws.close()


def check_room(servers: list[LiveClient], pids: set[str]) -> None:
    """A room of 8 over every worker: each message reaches all 8, in the sender's order."""
    members = room_across(servers, pids)
    try:
        assert {m.pid for m in members} == pids
        for speaker in (members[0], members[-1]):
            lines = [f"{speaker.pid} says {n}" for n in range(10)]
            for line in lines:
                speaker.ws.send(line)
            for member in members:
                assert [member.recv() for _ in lines] == lines
    finally:
        for member in members:
            member.ws.close()


def check_broadcast(servers: list[LiveClient], pids: set[str], events: Path, value: str) -> None:
    """One ``was.broadcast``: each app of every worker runs its handler exactly once."""
    pid, sent = get(servers[0], f"/broadcast/{value}").split()
    assert sent == "True"
    expected = sorted(f"{p} {app} {value}" for p in pids for app in ("chat", "photos"))

    def lines() -> list[str]:
        text = events.read_text() if events.exists() else ""
        return sorted(line for line in text.splitlines() if line.endswith(f" {value}"))

    wait_until(lambda: len(lines()) >= len(expected), what=f"broadcast {value} everywhere")
    assert lines() == expected


@pytest.fixture
def events(tmp_path: Path) -> Path:
    return tmp_path / "events.txt"


def start(events: Path, *args: str, env: dict[str, str] | None = None) -> LiveClient:
    return test_client(
        SITE / "serve.py", devel=False, args=args, env={"HUB_EVENTS": str(events), **(env or {})}
    )


@pytest.fixture
def one_engine(events: Path) -> Iterator[LiveClient]:
    server = start(events)
    yield server
    server.stop()


def test_two_workers_push_room_and_broadcast_without_a_broker(
    one_engine: LiveClient, events: Path
) -> None:
    pids = worker_pids([one_engine], 2)
    check_push([one_engine], pids)
    check_room([one_engine], pids)
    check_broadcast([one_engine], pids, events, "first")


def check_logout(servers: list[LiveClient], count: int, at_once: bool = True) -> None:
    """A session ended on one worker: a copy of its cookie is refused by every worker
    (``at_once`` on one host, where they share memory; across hosts the broker's
    announcement takes a moment)."""
    login = requests.get(servers[0].base_url + "/login/ann", timeout=10)
    cookie = login.headers["Set-Cookie"].split(";")[0]
    assert get(servers[-1], "/whoami", cookie).split()[1] == "ann"
    get(servers[0], "/logout", cookie)
    refused: set[str] = set()

    def everywhere() -> bool:
        for server in servers:
            pid, user = get(server, "/whoami", cookie).split()
            assert user == "None" or not at_once, f"worker {pid} still knows the session"
            if user == "None":
                refused.add(pid)
        return len(refused) >= count

    wait_until(everywhere, what=f"{count} workers answering")


def test_a_rolling_restart_keeps_the_application_whole(one_engine: LiveClient) -> None:
    """SIGHUP replaces every worker, the relay among them: the new ones are one application."""
    old = worker_pids([one_engine], 2)
    assert one_engine.process is not None
    os.kill(one_engine.process.pid, signal.SIGHUP)  # the master
    new: set[str] = set()
    wait_until(
        lambda: new.update(get(one_engine, "/pid") for _ in range(4)) or len(new - old) >= 2,
        what="two new workers answering",
    )
    pids = new - old
    assert len(pids) == 2
    check_push([one_engine], pids)
    check_room([one_engine], pids)


def test_logout_holds_on_every_worker(one_engine: LiveClient) -> None:
    check_logout([one_engine], 2)


def test_a_dead_worker_takes_only_its_clients(one_engine: LiveClient, events: Path) -> None:
    """Kill each original worker in turn (the relay among them): the others go on."""
    pids = worker_pids([one_engine], 2)
    for victim in sorted(pids):
        survivor = Member(one_engine)
        while survivor.pid == victim:
            survivor.ws.close()
            survivor = Member(one_engine)
        os.kill(int(victim), signal.SIGKILL)
        pids = worker_pids([one_engine], 2)  # the survivor's worker and the replacement
        assert victim not in pids and survivor.pid in pids
        # the survivor's connection is untouched, and it reaches the new worker's members
        members = room_across([one_engine], pids)
        survivor.ws.send("still here")
        assert survivor.recv() == "still here"
        for member in members:
            assert member.recv() == "still here"
        for member in (survivor, *members):
            member.ws.close()
    check_push([one_engine], worker_pids([one_engine], 2))


# -- two engines sharing a Redis -----------------------------------------------------------


@pytest.fixture
def two_engines(redis_server: Any, events: Path) -> Iterator[list[LiveClient]]:
    # the broker by flag for one engine, by environment variable for the other
    first = start(events, "--broker", redis_server.url)
    second = start(events, env={"SKITAI_BROKER": redis_server.url})
    yield [first, second]
    first.stop()
    second.stop()


def timed_get(server: LiveClient, path: str, cookie: str = "") -> tuple[str, float]:
    began = time.monotonic()
    text = get(server, path, cookie)
    return text, time.monotonic() - began


def test_two_engines_share_a_redis_and_survive_its_restart(
    two_engines: list[LiveClient], redis_server: Any, events: Path
) -> None:
    pids = worker_pids(two_engines, 4)
    check_push(two_engines, pids)
    check_room(two_engines, pids)
    check_broadcast(two_engines, pids, events, "before")

    ws, _, cookie = push_subscriber(two_engines[0])
    redis_server.stop()
    try:
        # HTTP goes on, at full speed, while the broker is gone
        for server in two_engines * 5:
            text, seconds = timed_get(server, "/pid")
            assert text in pids and seconds < 1.0

        # pushes to another engine fail visibly, and never hang a request
        def push_fails() -> bool:
            text, seconds = timed_get(two_engines[1], "/item_in_stock", cookie)
            assert seconds < 5.0, f"a push took {seconds:.1f}s with the broker down"
            return text.endswith("False")

        wait_until(push_fails, what="a push answering False with the broker down")
        assert get(two_engines[1], "/broadcast/lost").endswith("False")
    finally:
        redis_server.start()

    def push_works() -> bool:
        return get(two_engines[1], "/item_in_stock", cookie).endswith("True")

    wait_until(push_works, what="pushes flowing again once the broker is back")
    assert ws.recv(timeout=10) == "Item In Stock!"
    ws.send("who")  # the pushes that answered False did not arrive late, before this answer
    assert str(ws.recv(timeout=10)).split()[0] in pids
    ws.close()
    check_push(two_engines, pids)
    check_room(two_engines, pids)
    check_broadcast(two_engines, pids, events, "after")
    check_logout(two_engines, len(pids), at_once=False)


def test_states_span_engines_sharing_a_redis(
    redis_server: Any, events: Path, two_engines: list[LiveClient]
) -> None:
    """``setlu`` on one engine is ``getlu`` on every worker of the other, and on both
    after an update made while the broker was down (it restarts empty)."""
    first, second = two_engines
    pids = worker_pids(two_engines, 4)

    def everywhere(value: str, servers: list[LiveClient], count: int) -> None:
        seen: dict[str, str] = {}

        def agreed() -> bool:
            for server in servers:
                pid, got = get(server, "/getlu/news").split()
                seen[pid] = got
            return len(seen) >= count and set(seen.values()) == {value}

        try:
            wait_until(agreed)
        except AssertionError:
            raise AssertionError(f"getlu is not {value} on {count} workers: {seen}") from None

    value = get(first, "/setlu/news").split()[1]
    everywhere(value, [second], 2)
    redis_server.stop()
    try:
        value = get(second, "/setlu/news").split()[1]  # HTTP and the local table go on
    finally:
        redis_server.start()  # empty: the engines tell it what they know
    everywhere(value, two_engines, len(pids))
