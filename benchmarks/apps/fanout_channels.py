"""The Django Channels chat room of ``bench_fanout.py`` (the anchor): a group on channels-redis.

``AsyncWebsocketConsumer`` at ``/room`` joins group ``room`` and ``group_send``\\ s what it
receives; the layer is ``channels_redis`` on ``$FANOUT_REDIS`` (workers and engines
share it).  ``/`` answers ``Hello, World!`` without Django's HTTP stack::

    FANOUT_REDIS=redis://127.0.0.1:6379/0 uvicorn benchmarks.apps.fanout_channels:application
"""

from __future__ import annotations

import os
from typing import Any

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-fanout",
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [os.environ.get("FANOUT_REDIS", "redis://127.0.0.1:6379/0")]},
            }
        },
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

ROOM = "room"


class RoomConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """A member of the room."""

    async def connect(self) -> None:
        await self.channel_layer.group_add(ROOM, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(ROOM, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send(ROOM, {"type": "room.message", "text": text_data})

    async def room_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Readiness check."""
    body = b"Hello, World!"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")],
        }
    )
    await send({"type": "http.response.body", "body": body})


application = ProtocolTypeRouter(
    {"http": hello, "websocket": URLRouter([path("room", RoomConsumer.as_asgi())])}
)
