"""``was.request.mbox``: the messaging box (spec "Messaging Box", "Named Session & Messaging Box").

A message is ``(message_id, category, created, valid, msg, extra)``:

* ``valid == 0`` (default): shown once — a request that ``get()``s it and
  finishes successfully (status below 400) deletes it; until then it waits
  in the cookie, however long that takes;
* ``valid > 0``: shown on every request for ``valid`` seconds, then dropped.

Messages that outlive the request are kept in a sealed cookie (``ATLMBX``,
``ATLMBX_<NAME>`` for named boxes), so keep them short and few.
"""

from __future__ import annotations

import json
from typing import Any

from atila.cookieboxes import BoxContext, BoxSet, CookieBox, CookieOptions, forward

__all__ = ["MessageBox", "Messages"]

Message = tuple[int, str, float, int, Any, dict[str, Any]]


def _valid_message(item: Any) -> bool:
    return (
        isinstance(item, list)
        and len(item) == 6
        and isinstance(item[0], int)
        and isinstance(item[2], (int, float))
        and isinstance(item[3], int)
        and isinstance(item[5], dict)
    )


class Messages(CookieBox):
    """One message box cookie."""

    prefix = "ATLMBX"

    def __init__(
        self,
        name: str | None,
        ctx: BoxContext,
        securekey: str | bytes | None = None,
        path: str | None = None,
        domain: str | None = None,
        secure: bool = False,
        http_only: bool = True,
    ) -> None:
        options = CookieOptions(path or "/", domain, secure, http_only)
        super().__init__(name, ctx, securekey or ctx.securekey, options)

    def load(self, payload: dict[str, Any] | None) -> None:
        self._messages: list[list[Any]] = []
        self._next_id = 1
        self._addr: str | None = None
        self._consumed: set[int] = set()
        self._exists = payload is not None
        if payload is None:
            return
        now = self._ctx.now()
        items = payload.get("m")
        for item in items if isinstance(items, list) else []:
            if not _valid_message(item):
                continue
            if item[3] > 0 and item[2] + item[3] < now:
                self._dirty = True  # expired: drop it from the cookie
                continue
            self._messages.append(item)
        next_id = payload.get("n")
        self._next_id = next_id if isinstance(next_id, int) else len(self._messages) + 1
        self._addr = payload.get("a") if isinstance(payload.get("a"), str) else None

    def dump(self) -> dict[str, Any] | None:
        if not self._messages:
            return None
        return {"m": self._messages, "n": self._next_id, "a": self._addr}

    def present(self) -> bool:
        """True when the request carried a valid message box."""
        return self._exists

    def finish(self, success: bool) -> None:
        if success and self._consumed:
            self._messages = [m for m in self._messages if m[0] not in self._consumed]
            self._consumed.clear()
            self._changed()

    # -- the spec's methods ----------------------------------------------------

    def send(self, msg: Any, category: str = "info", valid: int = 0, **extra: Any) -> int:
        """Add a message; return its id. ``valid`` seconds > 0 keeps it shown that long."""
        json.dumps([msg, extra])
        message_id = self._next_id
        self._next_id += 1
        created = round(self._ctx.now(), 3)
        self._messages.append([message_id, category, created, max(0, int(valid)), msg, extra])
        self._addr = self._ctx.remote_addr
        self._changed()
        return message_id

    def _matches(self, message: list[Any], key: str | None, val: Any) -> bool:
        if key is None:
            return True
        if val is None:
            return bool(message[1] == key)
        return bool(message[5].get(key) == val)

    def get(self, key: str | None = None, val: Any = None) -> list[Message]:
        """Messages: all, of category ``key``, or whose extra ``key`` equals ``val``.

        Returned messages with ``valid == 0`` are deleted once this request
        finishes successfully.
        """
        found = []
        for message in self._messages:
            if self._matches(message, key, val):
                found.append(tuple(message))
                if message[3] == 0:
                    self._consumed.add(message[0])
        return found  # type: ignore[return-value]

    def source_verified(self) -> bool:
        """True when this request comes from the address that last wrote the box."""
        return self._addr is None or self._addr == self._ctx.remote_addr

    def getv(self, key: str | None = None, val: Any = None) -> list[Message]:
        """:meth:`get` when :meth:`source_verified`, else ``[]``."""
        return self.get(key, val) if self.source_verified() else []

    def search(self, key: str, val: Any = None) -> list[int]:
        """Ids of messages whose extra ``key`` equals ``val`` (``val`` None: category ``key``)."""
        return [m[0] for m in self._messages if self._matches(m, key, val)]

    def remove(self, message_id: int | str) -> None:
        """Delete message ``message_id`` (no error when absent).

        The id may also be given as its string (as it arrives from a URL or a form).
        """
        wanted = str(message_id)
        kept = [m for m in self._messages if str(m[0]) != wanted]
        if len(kept) != len(self._messages):
            self._messages = kept
            self._changed()

    def __len__(self) -> int:
        return len(self._messages)

    def __repr__(self) -> str:
        return f"<Messages {self.name or 'default'} count={len(self._messages)}>"


class MessageBox(BoxSet[Messages]):
    """``was.request.mbox``: the current message box (default, or the last mounted)."""

    def __init__(self, ctx: BoxContext) -> None:
        super().__init__(Messages, ctx)

    def mount(
        self,
        name: str | None = None,
        securekey: str | bytes | None = None,
        path: str | None = None,
        domain: str | None = None,
        secure: bool = False,
        http_only: bool = True,
    ) -> MessageBox:
        """Make box ``name`` (None: the default) current, creating it when needed."""
        options = {
            "securekey": securekey, "path": path, "domain": domain,
            "secure": secure, "http_only": http_only,
        }  # fmt: skip
        return self._mount(name, options)  # type: ignore[return-value]

    # Calls go to the current box (see Messages for each method).
    send = forward("send")
    get = forward("get")
    getv = forward("getv")
    search = forward("search")
    remove = forward("remove")
    source_verified = forward("source_verified")
    __len__ = forward("__len__")
    #: Alias of ``send`` (the spec's examples use ``mbox.push``).
    push = forward("send")

    def __repr__(self) -> str:
        return f"<MessageBox current={self.current!r}>"
