"""The message hub's choice of backend and its frames (the live behaviour is in
tests/atila/test_hub_live.py): the three spellings of the broker and their order,
a bad broker refused before any worker starts, and the embedded relay's framing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from skitai.cli import parse_args
from skitai.config import Config
from skitai.hub import HubPlan
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
