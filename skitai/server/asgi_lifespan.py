"""ASGI ``lifespan`` scopes: startup and shutdown of each mounted ASGI app, once per worker.

Before a worker accepts connections it sends ``lifespan.startup`` to each
ASGI app (an app mounted at several points once), in mount order, and waits for
the answer; after the worker drained its connections it sends
``lifespan.shutdown`` in reverse order, each bounded by the graceful timeout.

* ``lifespan.startup.failed`` (Starlette sends it when a lifespan handler
  raises) stops the worker: :class:`LifespanFailed` carries the app's message,
  the apps already started are shut down, and the worker exits with
  :data:`APP_START_FAILED`, which makes the master stop with an error instead
  of starting workers that cannot serve.
* An app that raises before sending any lifespan message does not speak the
  protocol (Django's ``ASGIHandler`` refuses the scope): it is logged at INFO
  and served without lifespan, as uvicorn's ``--lifespan auto`` does.
* ``scope["state"]`` is the app's state dict: what startup puts there is
  copied (shallowly) into the scope of each of its requests.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from .asgi_common import ASGI_VERSION, app_name

if TYPE_CHECKING:
    from ..types import ASGIApp, Message

logger = logging.getLogger("skitai.asgi")

#: Exit status of a worker whose app refused to start: the master stops (no retry).
APP_START_FAILED = 3


class LifespanFailed(Exception):
    """An ASGI app answered ``lifespan.startup.failed`` (or failed while starting)."""


class Lifespan:
    """The lifespan protocol with one app, run in a task of its own."""

    def __init__(self, app: ASGIApp, state: dict[str, Any], label: str) -> None:
        self.app = app
        self.state = state
        self.label = label
        loop = asyncio.get_running_loop()
        self._started: asyncio.Future[str | None] = loop.create_future()
        self._stopped: asyncio.Future[str | None] = loop.create_future()
        self._shutdown_asked = loop.create_future()
        self._sent_any = False
        self._received = 0
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        """Run the app's startup; raise :class:`LifespanFailed` when it fails."""
        self._task = asyncio.get_running_loop().create_task(self._main())
        failure = await self._started
        if failure is not None:
            raise LifespanFailed(f"{self.label}: {failure}")

    async def shutdown(self, timeout: float) -> None:
        """Run the app's shutdown (at most ``timeout`` seconds); log a failure."""
        if self._task is None or self._task.done():
            return
        if not self._shutdown_asked.done():
            self._shutdown_asked.set_result(None)
        try:
            failure = await asyncio.wait_for(asyncio.shield(self._stopped), timeout)
        except TimeoutError:
            logger.warning("ASGI app %s: lifespan shutdown not done in %gs", self.label, timeout)
            self._task.cancel()
            return
        if failure is not None:
            logger.error("ASGI app %s: lifespan shutdown failed: %s", self.label, failure)

    async def _main(self) -> None:
        scope = {"type": "lifespan", "asgi": ASGI_VERSION, "state": self.state}
        try:
            await self.app(scope, self._receive, self._send)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the app's error is reported, not raised here
            if not self._sent_any and not self._started.done():
                logger.info(
                    "ASGI app %s does not support lifespan (%s: %s): served without it",
                    self.label, type(exc).__name__, exc,
                )  # fmt: skip
            elif not self._started.done():
                logger.exception("ASGI app %s failed during lifespan startup", self.label)
                self._started.set_result(f"{type(exc).__name__}: {exc}")
            else:
                logger.exception("ASGI app %s failed in its lifespan", self.label)
        finally:
            # An app that returns (or fails) ends its lifespan: nothing more to wait for.
            for future in (self._started, self._stopped):
                if not future.done():
                    future.set_result(None)

    async def _receive(self) -> Message:
        self._received += 1
        if self._received == 1:
            return {"type": "lifespan.startup"}
        await self._shutdown_asked
        return {"type": "lifespan.shutdown"}

    async def _send(self, message: Message) -> None:
        self._sent_any = True
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            _answer(self._started, None)
        elif kind == "lifespan.startup.failed":
            _answer(self._started, message.get("message") or "lifespan startup failed")
        elif kind == "lifespan.shutdown.complete":
            _answer(self._stopped, None)
        elif kind == "lifespan.shutdown.failed":
            _answer(self._stopped, message.get("message") or "lifespan shutdown failed")
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} in a lifespan scope")


def _answer(future: asyncio.Future[str | None], failure: str | None) -> None:
    if not future.done():
        future.set_result(failure)


class Lifespans:
    """The lifespans of a worker's ASGI apps: start them in order, stop them in reverse."""

    def __init__(self, apps: list[tuple[str, ASGIApp, dict[str, Any]]]) -> None:
        #: (label, app, state) of each distinct ASGI app, in mount order
        self.apps = apps
        self._running: list[Lifespan] = []

    async def startup(self) -> None:
        """Start every app; on a failure stop those started and raise :class:`LifespanFailed`."""
        for label, app, state in self.apps:
            lifespan = Lifespan(app, state, label or app_name(app))
            try:
                await lifespan.startup()
            except LifespanFailed:
                await self.shutdown(5.0)
                raise
            self._running.append(lifespan)

    async def shutdown(self, timeout: float) -> None:
        """Stop the started apps, last started first."""
        running, self._running = self._running, []
        for lifespan in reversed(running):
            await lifespan.shutdown(timeout)


__all__ = ["APP_START_FAILED", "Lifespan", "LifespanFailed", "Lifespans"]
