"""Every engine option in one typed place.

``Config`` holds the server's settings with their documented defaults.  It is
built from ``skitai.run(...)`` keyword arguments, then overridden by command
line flags (see :mod:`skitai.cli`), and is read-only once the server starts.
"""

from __future__ import annotations

import dataclasses
import os
import ssl

from skitai.server.proxy import DEFAULT_FORWARDED_ALLOW_IPS, TrustedProxies

#: Longest request target (URI) accepted; longer gets ``414 URI Too Long``.
DEFAULT_MAX_URI_SIZE = 8190
#: Largest request head (request line + headers) accepted; larger gets ``431``.
DEFAULT_MAX_HEADER_SIZE = 65536
#: Most header fields in a request head (and trailer fields after a chunked
#: body); more get ``431`` (gunicorn's ``limit_request_fields``, Apache's
#: ``LimitRequestFields`` and Tomcat's ``maxHeaderCount`` are 100 too).
DEFAULT_MAX_HEADER_FIELDS = 100
#: Most bytes of chunk extensions (``;name=value`` after each chunk size) in
#: one chunked request body, together; more get ``400`` (16 KiB, as Node.js
#: and h11 allow).
DEFAULT_MAX_CHUNK_EXTENSIONS_SIZE = 16384
#: Largest request body accepted; larger gets ``413 Content Too Large``.
DEFAULT_MAX_CLIENT_BODY_SIZE = 256 * 1024 * 1024
#: A request head not complete within this many seconds gets ``408`` (slowloris guard).
DEFAULT_HEADER_TIMEOUT = 10.0
#: An idle keep-alive connection is closed after this many seconds.
DEFAULT_KEEPALIVE_TIMEOUT = 10.0
#: A request body that sends nothing for this many seconds is abandoned.
DEFAULT_BODY_TIMEOUT = 30.0
#: Concurrent connections per worker; more are answered ``503`` and closed.
DEFAULT_MAX_CONNECTIONS = 10000
#: Bodies up to this size are received whole on the event loop before the
#: application is called, so a slow client never holds a handler thread.
DEFAULT_BODY_BUFFER_SIZE = 1024 * 1024
#: Seconds a worker waits for in-flight requests after SIGTERM.
DEFAULT_GRACEFUL_TIMEOUT = 30.0
#: Responses smaller than this are never gzipped.
DEFAULT_GZIP_MIN_SIZE = 1024
#: Slots of the cross-worker replay table (see :mod:`skitai.replay`).
DEFAULT_REPLAY_CAPACITY = 131072


def check_name(name: str) -> str:
    """Return ``name`` if it can name the app's files; raise ``ValueError`` if not."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise ValueError(f"the app name must be a file name (no '/'), not {name!r}")
    return name


@dataclasses.dataclass
class Config:
    """Server configuration: every engine option and its default.

    Attributes mirror ``skitai.run()`` keyword arguments and command line
    flags (``--port``, ``--workers``, ``--threads``, ``--devel`` ...).
    """

    ip: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    threads: int = 4
    #: the app's name: names its var directory, pid file and log file
    #: (``skitai.run`` defaults it to the script's name, ``--name`` overrides)
    name: str = "skitai"
    backlog: int = 2048
    devel: bool = False
    silent: bool = False
    #: directory holding the pid file and daemon log (``start|stop|status``)
    var_dir: str = ""
    #: user (name or uid) the workers switch to after fork; empty keeps the
    #: current user.  The master keeps its privileges (to bind low ports and
    #: manage workers); a worker that cannot switch says why and exits.
    user: str = ""
    #: set by ``start``: a pipe the supervisor writes ``ready <pid>\n`` to once
    #: its workers are up, so the starting command can report success; -1: none
    ready_fd: int = -1
    #: set by the ``--devel`` reloader (:mod:`skitai.reloader`) in the server it
    #: runs: the listening socket it holds, served instead of binding a new one
    listen_fd: int = -1
    max_uri_size: int = DEFAULT_MAX_URI_SIZE
    max_header_size: int = DEFAULT_MAX_HEADER_SIZE
    max_header_fields: int = DEFAULT_MAX_HEADER_FIELDS
    max_chunk_extensions_size: int = DEFAULT_MAX_CHUNK_EXTENSIONS_SIZE
    max_client_body_size: int = DEFAULT_MAX_CLIENT_BODY_SIZE
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    body_buffer_size: int = DEFAULT_BODY_BUFFER_SIZE
    graceful_timeout: float = DEFAULT_GRACEFUL_TIMEOUT
    gzip: bool = True
    gzip_min_size: int = DEFAULT_GZIP_MIN_SIZE
    access_log: bool = True
    server_header: str = "skitai"
    #: slots of the cross-worker replay table (``environ["skitai.replay"]``,
    #: :mod:`skitai.replay`): 24 bytes each, made once in the master
    replay_capacity: int = DEFAULT_REPLAY_CAPACITY
    #: the message broker shared by every engine of the application: a
    #: ``redis://`` URL (``skitai.run(broker=...)``, ``--broker``, ``SKITAI_BROKER``);
    #: empty: the workers of this server talk through the embedded hub
    broker: str = ""
    #: peers (addresses, networks, ``*``) whose ``Forwarded``/``X-Forwarded-For``/
    #: ``X-Forwarded-Proto`` headers set the client address and scheme
    #: (:mod:`skitai.server.proxy`)
    forwarded_allow_ips: str = DEFAULT_FORWARDED_ALLOW_IPS
    #: a path the engine answers itself for load balancers: 200, or 503 while the
    #: worker drains (empty: none)
    health: str = ""
    #: PEM certificate chain: set, the server speaks HTTPS (and WSS) only
    certfile: str = ""
    #: PEM private key of ``certfile`` (empty: the key is in ``certfile``)
    keyfile: str = ""

    def __post_init__(self) -> None:
        check_name(self.name)
        TrustedProxies(self.forwarded_allow_ips)  # a bad entry fails here, not in each worker
        if self.health and not self.health.startswith("/"):
            raise ValueError(f"health must be a path starting with '/', not {self.health!r}")
        if not self.var_dir:
            self.var_dir = os.path.join(os.path.expanduser("~"), ".skitai", self.name)

    @property
    def scheme(self) -> str:
        """``https`` with a certificate, else ``http``."""
        return "https" if self.certfile else "http"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server's TLS context (TLS 1.2+, ALPN ``h2`` and ``http/1.1``), or None without one.

        Raises ``OSError``/``ssl.SSLError`` when the certificate or key cannot be loaded.
        """
        if not self.certfile:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certfile, self.keyfile or None)
        context.set_alpn_protocols(["h2", "http/1.1"])
        return context

    @property
    def pid_file(self) -> str:
        """Path of the pid file used by ``start|stop|status``: ``<var_dir>/<name>.pid``."""
        return os.path.join(self.var_dir, f"{self.name}.pid")

    @property
    def log_file(self) -> str:
        """Path of the daemon's log file (``start`` mode): ``<var_dir>/<name>.log``."""
        return os.path.join(self.var_dir, f"{self.name}.log")

    def replace(self, **changes: object) -> Config:
        """Return a copy with ``changes`` applied (unknown names raise ``TypeError``)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
