"""The message hub's choice of backend and its frames (the live behaviour is in
tests/atila/test_hub_live.py): the three spellings of the broker and their order,
a bad broker refused before any worker starts, and the embedded relay's framing."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from skitai.cli import parse_args
from skitai.config import Config
from skitai.hub import Hub, HubPlan
from skitai.hub.embedded import MAX_FRAME, frame, parse, read_frame
from skitai.testing import ServerStartError, test_client

BROKER = "redis://10.0.0.1:6379/0"


def test_the_broker_by_code_environment_and_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SKITAI_BROKER", raising=False)
    in_code = Config(broker="redis://code:6379/0")
    assert parse_args([], Config())[1].broker == ""  # the embedded hub
    assert parse_args([], in_code)[1].broker == "redis://code:6379/0"
    monkeypatch.setenv("SKITAI_BROKER", BROKER)
    assert parse_args([], in_code)[1].broker == BROKER  # the environment over the code
    flagged = parse_args(["--broker", "redis://flag:6379/1"], in_code)[1]
    assert flagged.broker == "redis://flag:6379/1"  # the flag over both


def test_a_broker_that_is_not_redis_is_refused() -> None:
    with pytest.raises(ValueError, match="redis://"):
        HubPlan("amqp://rabbit:5672/")


def test_the_embedded_plan_owns_a_private_socket() -> None:
    plan = HubPlan()
    try:
        directory = Path(plan._socket.directory)  # type: ignore[union-attr]
        assert (directory / "hub.sock").is_socket()
        assert directory.stat().st_mode & 0o077 == 0  # no other user can inject messages
    finally:
        plan.close()
    assert not directory.exists()


def test_a_server_with_a_bad_broker_says_why_and_exits(tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    script.write_text("import skitai\nskitai.mount('/', lambda e, s: [])\nskitai.run()\n")
    with pytest.raises(ServerStartError) as failure:
        test_client(script, devel=False, args=["--broker", "http://127.0.0.1:1/"], timeout=20)
    assert "the broker must be a redis://" in str(failure.value)


def test_frames_round_trip_and_oversized_ones_are_refused() -> None:
    async def read(data: bytes) -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await read_frame(reader)

    data = frame(b"P", "atila.rooms:chat", b"\x00payload")
    assert parse(asyncio.run(read(data))) == (b"P", "atila.rooms:chat", b"\x00payload")
    with pytest.raises(ValueError, match="refused"):
        asyncio.run(read((MAX_FRAME + 1).to_bytes(4, "big") + b"P"))


# -- two hubs over the embedded relay, in one process (each pretends to be a worker) ----


async def two_hubs(plan: HubPlan) -> tuple[Hub, Hub]:
    first, second = plan.hub(), plan.hub()
    second.node = "0000beef"  # another worker's node id
    both: list[asyncio.Future[None]] = []
    for hub in (first, second):
        ready = asyncio.get_running_loop().create_future()
        hub.on_connect(lambda ready=ready: _done(ready))
        both.append(ready)
        hub.start()
    await asyncio.wait_for(asyncio.gather(*both), 10)
    return first, second


async def _done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def test_messages_arrive_in_order_and_requests_are_answered() -> None:
    plan = HubPlan()

    async def scenario() -> None:
        first, second = await two_hubs(plan)
        got: list[bytes] = []
        finished = asyncio.get_running_loop().create_future()

        def take(data: bytes) -> None:
            got.append(data)
            if len(got) == 1000 and not finished.done():
                finished.set_result(None)

        second.subscribe("numbers", take)
        second.provide("echo", lambda data: b"echo " + data)
        assert await first.arequest(second.node, "echo", b"x") == b"echo x"  # subscribed by now
        for number in range(1000):
            assert first.publish("numbers", str(number).encode())
        await asyncio.wait_for(finished, 10)
        assert got == [str(number).encode() for number in range(1000)]
        # a node nobody listens for fails at once (the relay says so), not after the timeout
        began = asyncio.get_running_loop().time()
        assert await first.arequest("0000dead", "echo", b"x") is None
        assert asyncio.get_running_loop().time() - began < first.timeout / 2
        assert await first.arequest(second.node, "missing", b"x") is None  # unknown service
        await first.close()
        await second.close()

    try:
        asyncio.run(scenario())
    finally:
        plan.close()


def test_a_hub_that_cannot_connect_fails_visibly_after_its_grace() -> None:
    from skitai.hub.redis import RedisHub

    async def scenario() -> None:
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        hub = RedisHub(f"redis://127.0.0.1:{port}/0", "test")
        hub.grace = 0.0
        hub.start()
        await asyncio.sleep(0)  # let it try
        assert not hub.connected
        assert hub.publish("topic", b"lost") is False
        assert await hub.arequest("0000beef", "echo", b"x") is None
        assert hub.claim("key", b"1", 5) is None  # not a handler thread, and down anyway
        await hub.close()

    asyncio.run(scenario())


def test_the_start_up_line_hides_the_brokers_password() -> None:
    plan = HubPlan("redis://:s3cret@10.0.0.5:6379/0")
    assert plan.describe() == "broker redis://:***@10.0.0.5:6379/0"
    assert HubPlan("redis://10.0.0.5:6379/0").describe() == "broker redis://10.0.0.5:6379/0"
