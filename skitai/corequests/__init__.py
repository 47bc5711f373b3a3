"""Corequests: database, function, process and HTTP requests a handler fires
while the worker's event loop (or a dedicated executor) does the waiting.

The engine puts one :class:`Corequests` hub per worker in the WSGI environ as
``environ["skitai.corequests"]``; frameworks build their API on it (Atila's
``was.db``, ``was.Thread``, ``was.Map`` ...).  Aliases (``skitai.alias``)
name the backends.  See ``docs/corequests.md``.
"""

from .aliases import (
    DB_PGSQL,
    DB_POSTGRESQL,
    DB_SQLITE3,
    DJANGO,
    PROTO_HTTP,
    PROTO_HTTPS,
    Alias,
    AliasError,
    AliasTable,
    registry,
)
from .errors import (
    BackendDropped,
    BackendUnavailable,
    CorequestError,
    CorequestTimeout,
    WouldBlock,
)
from .results import (
    STATUS_FAILED,
    STATUS_NORMAL,
    STATUS_TIMEOUT,
    HTTPStatusError,
    Pending,
    Result,
    Row,
    Task,
    TaskGroup,
    Then,
    completed,
    when_all,
)
from .service import Corequests, standalone

#: The environ key holding the worker's :class:`Corequests` hub.
ENVIRON_KEY = "skitai.corequests"

__all__ = [
    "DB_PGSQL",
    "DB_POSTGRESQL",
    "DB_SQLITE3",
    "DJANGO",
    "ENVIRON_KEY",
    "PROTO_HTTP",
    "PROTO_HTTPS",
    "STATUS_FAILED",
    "STATUS_NORMAL",
    "STATUS_TIMEOUT",
    "Alias",
    "AliasError",
    "AliasTable",
    "BackendDropped",
    "BackendUnavailable",
    "CorequestError",
    "CorequestTimeout",
    "Corequests",
    "HTTPStatusError",
    "Pending",
    "Result",
    "Row",
    "Task",
    "TaskGroup",
    "Then",
    "WouldBlock",
    "completed",
    "registry",
    "standalone",
    "when_all",
]
