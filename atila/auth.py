"""HTTP authentication: Basic, Digest (RFC 7616) and Bearer (spec "WWW-Authenticate",
"(JWT) Bearer Authorization").

A route needs authentication when its route says ``authenticate="digest"``
(or ``basic``/``bearer``), when ``@app.authorization_required(method)``
decorates its handler, or when ``app.authenticate`` is set for the whole app.
:func:`authenticate` checks the request's ``Authorization`` header; on
failure it raises a ``401`` carrying the ``WWW-Authenticate`` challenge.

Passwords come from ``@app.authorization_handler`` (``func(was, username)``)
or ``app.users.get(username)``; either returns ``(password, encrypted,
info)``, ``(password, encrypted)``, ``password`` or None.  An *encrypted*
password is ``H(username:realm:password)`` in hex: MD5 (32 digits, as the spec
shows) or SHA-256 (64 digits).

Digest (RFC 7616): the server offers ``SHA-256`` then ``MD5``, ``qop="auth"``;
nonces are HMAC-signed timestamps valid :data:`NONCE_LIFETIME` seconds (an
older one answers ``stale=true``); each ``(nonce, nc)`` pair is accepted once
(RFC 7616 3.3: the same ``nc`` seen twice is a replay).  Under Skitai the pairs
are recorded in the server's cross-worker replay table
(``environ["skitai.replay"]``), so a replay sent to another worker is refused
too; under another WSGI server, in the process (:class:`DigestNonces`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from atila.errors import HTTPError
from atila.sealing import b64decode, b64encode, derive_key
from skitai.replay import LocalReplaySet

if TYPE_CHECKING:
    from skitai.types import ReplaySet

__all__ = [
    "NONCE_LIFETIME",
    "DigestNonces",
    "User",
    "authenticate",
    "parse_digest",
]

#: Seconds a digest nonce stays valid.
NONCE_LIFETIME = 300
#: Seconds a nonce may seem to come from the future (clock differences).
NONCE_SKEW = 5
METHODS = ("basic", "digest", "bearer")
_HASHES: dict[str, Callable[..., Any]] = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
_DIGEST_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')


@dataclass
class User:
    """``was.request.user`` after authentication: ``name``, ``realm``, ``info``."""

    name: str
    realm: str | None = None
    info: Any = None

    @property
    def username(self) -> str:
        """Alias of :attr:`name` (the spec's Testpassing example reads ``was.user.username``)."""
        return self.name

    def __str__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.name == other
        if isinstance(other, User):
            return (self.name, self.realm) == (other.name, other.realm)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)


@dataclass
class DigestNonces:
    """Issues and checks digest nonces; remembers the ``(nonce, nc)`` pairs accepted.

    ``seen`` is the per-process store used when :meth:`count` is given no
    shared replay set (``environ["skitai.replay"]``).
    """

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    lifetime: float = NONCE_LIFETIME
    seen: ReplaySet = field(default_factory=LocalReplaySet)

    def _mac(self, body: bytes, realm: str) -> bytes:
        return hmac.new(self.key, body + realm.encode("utf-8"), hashlib.sha256).digest()[:16]

    def make(self, realm: str) -> str:
        """A new nonce for ``realm``."""
        body = struct.pack(">d", time.time()) + secrets.token_bytes(12)
        return b64encode(body + self._mac(body, realm))

    def check(self, nonce: str, realm: str) -> str:
        """``"ok"``, ``"stale"`` (authentic but expired) or ``"invalid"``."""
        raw = b64decode(nonce)
        if raw is None or len(raw) != 36:
            return "invalid"
        body, mac = raw[:20], raw[20:]
        if not hmac.compare_digest(self._mac(body, realm), mac):
            return "invalid"
        (issued,) = struct.unpack(">d", body[:8])
        age = time.time() - issued
        if age < -NONCE_SKEW or age > self.lifetime:
            return "stale"
        return "ok"

    def count(self, nonce: str, nc: int, seen: ReplaySet | None = None) -> bool:
        """Record ``nc`` for ``nonce``; False when that pair was accepted before (replay).

        ``seen``: the server's shared replay set, else this object's own.  A
        full set also answers False (fail closed).  A pair is remembered while
        its nonce can still be valid.
        """
        store = self.seen if seen is None else seen
        key = b"atila/digest/" + nonce.encode("utf-8") + b"/" + str(int(nc)).encode()
        return store.add_if_absent(key, max(self.lifetime, 0) + 2 * NONCE_SKEW)


def parse_digest(value: str) -> dict[str, str]:
    """``username="a", nc=00000001`` -> ``{"username": "a", "nc": "00000001"}``."""
    params: dict[str, str] = {}
    for match in _DIGEST_PARAM.finditer(value):
        name, raw = match.group(1).lower(), match.group(2)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.setdefault(name, raw)
    return params


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- passwords ------------------------------------------------------------------


@dataclass
class Credentials:
    """What the password provider said about a user."""

    password: str
    encrypted: bool
    info: Any


def lookup(provider: Callable[[str], Any], username: str) -> Credentials | None:
    """Normalise the provider's answer for ``username``."""
    found = provider(username)
    if found is None or found is False:
        return None
    if isinstance(found, str):
        return Credentials(found, False, None)
    if isinstance(found, (tuple, list)) and 1 <= len(found) <= 3:
        password = found[0]
        if not isinstance(password, str):
            return None
        encrypted = bool(found[1]) if len(found) > 1 else False
        return Credentials(password, encrypted, found[2] if len(found) > 2 else None)
    return None


def _ha1(algorithm: str, username: str, realm: str, creds: Credentials) -> str | None:
    digest_size = {"MD5": 32, "SHA-256": 64}[algorithm]
    if creds.encrypted:
        stored = creds.password.lower()
        return stored if len(stored) == digest_size else None
    text = f"{username}:{realm}:{creds.password}".encode()
    return str(_HASHES[algorithm](text).hexdigest())


# -- challenges -----------------------------------------------------------------


def challenges(method: str, realm: str, nonces: DigestNonces, stale: bool = False,
               error: str | None = None) -> list[tuple[str, str]]:  # fmt: skip
    """The ``WWW-Authenticate`` headers of a 401 for ``method``."""
    if method == "basic":
        return [("WWW-Authenticate", f'Basic realm={_quote(realm)}, charset="UTF-8"')]
    if method == "bearer":
        value = f"Bearer realm={_quote(realm)}"
        if error:
            value += f', error="invalid_token", error_description={_quote(error)}'
        return [("WWW-Authenticate", value)]
    headers = []
    opaque = b64encode(derive_key(nonces.key, "opaque:" + realm)[:16])
    for algorithm in ("SHA-256", "MD5"):
        value = (
            f'Digest realm={_quote(realm)}, qop="auth", algorithm={algorithm}, '
            f'nonce="{nonces.make(realm)}", opaque="{opaque}"'
        )
        if stale:
            value += ", stale=true"
        headers.append(("WWW-Authenticate", value))
    return headers


def _unauthorized(method: str, realm: str, nonces: DigestNonces, message: str,
                  stale: bool = False, error: str | None = None) -> HTTPError:  # fmt: skip
    return HTTPError(401, message, headers=challenges(method, realm, nonces, stale, error))


# -- checks ----------------------------------------------------------------------


def _check_basic(value: str, realm: str, provider: Callable[[str], Any]) -> User | None:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        decoded = raw.decode("utf-8")  # RFC 7617
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")  # what requests, curl and older browsers send
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    creds = lookup(provider, username)
    if creds is None:
        return None
    if creds.encrypted:
        algorithm = "MD5" if len(creds.password) == 32 else "SHA-256"
        given = _HASHES[algorithm](f"{username}:{realm}:{password}".encode()).hexdigest()
        ok = hmac.compare_digest(given.encode(), creds.password.lower().encode())
    else:
        ok = hmac.compare_digest(password.encode("utf-8"), creds.password.encode("utf-8"))
    return User(username, realm, creds.info) if ok else None


def _check_digest(
    params: dict[str, str], request_method: str, request_uri: str, realm: str,
    provider: Callable[[str], Any], nonces: DigestNonces, seen: ReplaySet | None = None,
) -> User | str | None:  # fmt: skip
    """A :class:`User`, ``"stale"`` for an expired nonce, or None."""
    required = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
    if any(name not in params for name in required):
        return None
    algorithm = params.get("algorithm", "MD5").upper()
    if algorithm not in _HASHES or params["qop"] != "auth" or params["realm"] != realm:
        return None
    if params["uri"] != request_uri or not re.fullmatch(r"[0-9a-fA-F]{8}", params["nc"]):
        return None
    state = nonces.check(params["nonce"], realm)
    if state != "ok":
        return state if state == "stale" else None
    creds = lookup(provider, params["username"])
    if creds is None:
        return None
    ha1 = _ha1(algorithm, params["username"], realm, creds)
    if ha1 is None:
        return None
    hash_ = _HASHES[algorithm]
    ha2 = hash_(f"{request_method}:{params['uri']}".encode()).hexdigest()
    expected = hash_(
        f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}".encode()
    ).hexdigest()
    if not hmac.compare_digest(expected.encode(), params["response"].lower().encode()):
        return None
    if not nonces.count(params["nonce"], int(params["nc"], 16), seen):
        return "replay"
    return User(params["username"], realm, creds.info)


def authenticate(
    method: str,
    authorization: str | None,
    *,
    realm: str,
    request_method: str,
    request_uri: str,
    provider: Callable[[str], Any],
    nonces: DigestNonces,
    bearer: Callable[[str], Any] | None = None,
    seen: ReplaySet | None = None,
) -> User | None:
    """Check ``authorization`` for ``method``; raise a 401 with the challenge on failure.

    Returns the authenticated :class:`User` (None for bearer, whose
    ``bearer(token)`` callback sets the user itself and returns None on
    success, or an error message).  ``seen`` is the replay set digest
    ``(nonce, nc)`` pairs are recorded in (``environ["skitai.replay"]``;
    None: ``nonces``' per-process store).
    """
    method = method.lower()
    if method not in METHODS:
        raise ValueError(f"unknown authentication method {method!r}: use {', '.join(METHODS)}")
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != method:
        raise _unauthorized(method, realm, nonces, "authorization required")
    if method == "bearer":
        problem = bearer(value.strip()) if bearer is not None else "no bearer handler"
        if problem is not None:
            raise _unauthorized(method, realm, nonces, str(problem), error=str(problem))
        return None
    if method == "basic":
        user = _check_basic(value, realm, provider)
        if user is None:
            raise _unauthorized(method, realm, nonces, "invalid user name or password")
        return user
    result = _check_digest(parse_digest(value), request_method, request_uri, realm, provider,
                           nonces, seen)  # fmt: skip
    if isinstance(result, User):
        return result
    if result == "stale":
        raise _unauthorized(method, realm, nonces, "nonce expired", stale=True)
    if result == "replay":
        raise _unauthorized(method, realm, nonces, "nonce count reused")
    raise _unauthorized(method, realm, nonces, "invalid credentials")
