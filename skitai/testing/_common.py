"""What both test clients share: the JSON-by-Content-Type rule and a few constants."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from requests.structures import CaseInsensitiveDict

#: Seconds :meth:`ServerProcess.stop` waits after SIGTERM before SIGKILL.
STOP_GRACE_SECONDS = 10.0
#: Default per-request socket timeout of a :class:`LiveClient` (never hang a test).
DEFAULT_REQUEST_TIMEOUT = 30.0

_OUTPUT_TAIL_BYTES = 4000
_CONNECT_TIMEOUT = 0.2
_POLL_INTERVAL = 0.05
_ABSOLUTE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_STATUS = re.compile(r"^[1-9][0-9]{2} [^\r\n]*$")
_HOP_BY_HOP = frozenset(
    "connection keep-alive proxy-authenticate proxy-authorization te trailers"
    " transfer-encoding upgrade".split()
)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_QUERY_SAFE = string.punctuation


def _is_json_media_type(content_type: str | None) -> bool:
    """Return True for ``application/json`` and ``application/*+json`` types."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _content_type(*header_sets: Mapping[str, Any] | None) -> str | None:
    """Content-Type from the first header set that names it (case-insensitive)."""
    for headers in header_sets:
        if not headers:
            continue
        lookup = CaseInsensitiveDict(headers)
        if "content-type" in lookup:
            return lookup["content-type"]
    return None
