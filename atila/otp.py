"""One-time passwords: RFC 6238 TOTP (spec "Making One-Time Password").

``generate_otp(secret_key)`` (also importable as ``atila.was.generate_otp``)
is what a client computes; ``was.verify_otp(otp)`` checks it against
``app.securekey``.  Defaults: HMAC-SHA1, 6 digits, 30-second steps, one step
of clock drift accepted either way.  The secret is the key's UTF-8 bytes (or
the bytes given).  :class:`OTPVerifier` also refuses a code that was already
accepted (replay): under Skitai in every worker (the server's cross-worker
replay table, ``environ["skitai.replay"]``), under another WSGI server within
the process.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING

from skitai.replay import LocalReplaySet

if TYPE_CHECKING:
    from skitai.types import ReplaySet

__all__ = ["OTPVerifier", "generate_otp", "hotp"]

DIGITS = 6
STEP = 30
WINDOW = 1
_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def _secret(secret_key: str | bytes) -> bytes:
    return secret_key.encode("utf-8") if isinstance(secret_key, str) else bytes(secret_key)


def hotp(
    secret_key: str | bytes, counter: int, digits: int = DIGITS, algorithm: str = "sha1"
) -> str:
    """RFC 4226 HOTP value of ``counter``."""
    mac = hmac.new(_secret(secret_key), counter.to_bytes(8, "big"), _DIGESTS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    code = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def generate_otp(
    secret_key: str | bytes,
    at: float | None = None,
    digits: int = DIGITS,
    step: int = STEP,
    algorithm: str = "sha1",
) -> str:
    """The RFC 6238 TOTP for time ``at`` (default: now)."""
    counter = int((time.time() if at is None else at) // step)
    return hotp(secret_key, counter, digits, algorithm)


class OTPVerifier:
    """Checks TOTP codes and refuses one already accepted (thread-safe).

    Accepted codes are recorded in the ``seen`` replay set given to
    :meth:`verify` (the server's, shared by its workers), else in this object.
    """

    def __init__(self, digits: int = DIGITS, step: int = STEP, window: int = WINDOW) -> None:
        self.digits = digits
        self.step = step
        self.window = window
        self._used: ReplaySet = LocalReplaySet()

    def verify(
        self, otp: str | int | None, secret_key: str | bytes, at: float | None = None,
        seen: ReplaySet | None = None,
    ) -> bool:  # fmt: skip
        """True when ``otp`` is the TOTP of a step within the window and not used before.

        A code that cannot be recorded (the replay set is full) is refused.
        """
        if otp is None:
            return False
        given = str(otp).strip()
        if len(given) != self.digits or not given.isdigit():
            return False
        now = time.time() if at is None else at
        current = int(now // self.step)
        key_id = hashlib.sha256(_secret(secret_key)).digest()
        matched = None
        for counter in range(current - self.window, current + self.window + 1):
            if hmac.compare_digest(hotp(secret_key, counter, self.digits), given):
                matched = counter
        if matched is None:
            return False
        used = self._used if seen is None else seen
        # remembered while the code can still match: the drift window either way
        ttl = (self.window + 1) * self.step * 2
        key = b"atila/otp/%d/%d/" % (self.step, self.digits) + key_id + matched.to_bytes(8, "big")
        return used.add_if_absent(key, ttl)
