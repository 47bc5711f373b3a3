"""JSON encoding for API responses: the ``JSON_ENCODER`` styles and ``PRETTY_JSON``.

Spec: "Datetime Encoding JSON" and "Default App Configuration"::

    app.config.JSON_ENCODER = 'utcoffset'   # default
    app.config.PRETTY_JSON = False          # True: 2-space indent

How a ``datetime`` is written per style (naive datetimes are taken as UTC,
except by ``str``, which writes them as they are):

============  ============================  =========================
style         JSON value                    type
============  ============================  =========================
utcoffset     ``"2030-12-24 15:09:00+00"``  string, UTC
str           ``"2030-12-24 15:09:00"``     string, local time, no tz
iso           ``"2030-12-24T15:09:00"``     string, UTC, no offset
unixepoch     ``1924959340.0``              number (float seconds)
digit         ``"20301224150900"``          string, UTC
============  ============================  =========================

Microseconds are kept when they are not zero (``15:09:00.250000``; ``digit``
always drops them). Other values every style handles the same way: ``date``
(``"2030-12-24"``; ``unixepoch``: midnight UTC; ``digit``: ``"20301224"``),
``time`` (``"15:09:00"``), ``timedelta`` (float seconds), ``Decimal`` (string,
so no precision is lost), ``UUID`` (string), ``set``/``frozenset`` (list),
``bytes`` (UTF-8 text), ``Enum`` (its value), and any object with an
``_asdict()`` (named tuples, database rows) as an object.

Encoders are built once per (style, pretty) pair and reused; ``dumps`` is
safe to call from many threads.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import uuid
from collections.abc import Callable
from typing import Any

ENCODER_NAMES = ("utcoffset", "str", "iso", "unixepoch", "digit")
DEFAULT_ENCODER = "utcoffset"

_UTC = dt.UTC
_ZERO = dt.timedelta(0)
_Formatter = Callable[[dt.datetime], Any]


def _as_utc(value: dt.datetime) -> dt.datetime:
    """Aware datetimes converted to UTC; naive ones taken as UTC already."""
    if value.tzinfo is None:
        return value
    offset = value.utcoffset()
    if offset is None:  # a tzinfo that does not know: as astimezone, local time
        return value.astimezone(_UTC).replace(tzinfo=None)
    return (value - offset).replace(tzinfo=None)


def _seconds(value: dt.datetime | dt.time) -> str:
    fmt = "%H:%M:%S.%f" if value.microsecond else "%H:%M:%S"
    return value.strftime(fmt)


def _utcoffset(value: dt.datetime) -> str:
    if value.year > 1000 and value.tzinfo is not None and value.utcoffset() == _ZERO:
        # already UTC (what databases in UTC give): drop the "+00:00" isoformat writes
        return value.isoformat(" ")[:-6] + "+00"
    value = _as_utc(value)
    if value.year >= 1000:  # isoformat pads the year to 4 digits, %Y does not
        return value.isoformat(" ") + "+00"  # the same text, without strftime
    return f"{value:%Y-%m-%d} {_seconds(value)}+00"


def _local_str(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone().replace(tzinfo=None)
    return str(value)


def _iso(value: dt.datetime) -> str:
    return _as_utc(value).isoformat()


def _unixepoch(value: dt.datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    return value.timestamp()


def _digit(value: dt.datetime) -> str:
    return _as_utc(value).strftime("%Y%m%d%H%M%S")


_DATETIME_FORMATTERS: dict[str, _Formatter] = {
    "utcoffset": _utcoffset,
    "str": _local_str,
    "iso": _iso,
    "unixepoch": _unixepoch,
    "digit": _digit,
}


def _date_formatter(style: str) -> Callable[[dt.date], Any]:
    if style == "unixepoch":
        return lambda d: dt.datetime(d.year, d.month, d.day, tzinfo=_UTC).timestamp()
    if style == "digit":
        return lambda d: d.strftime("%Y%m%d")
    return lambda d: d.isoformat()


def _make_default(style: str) -> Callable[[Any], Any]:
    """The ``default=`` hook of a JSON encoder for one ``JSON_ENCODER`` style."""
    on_datetime = _DATETIME_FORMATTERS[style]
    on_date = _date_formatter(style)

    def default(obj: Any) -> Any:
        # datetime is a subclass of date: test it first.
        if isinstance(obj, dt.datetime):
            return on_datetime(obj)
        if isinstance(obj, dt.date):
            return on_date(obj)
        if isinstance(obj, dt.time):
            return _seconds(obj)
        if isinstance(obj, dt.timedelta):
            return obj.total_seconds()
        if isinstance(obj, decimal.Decimal | uuid.UUID):
            return str(obj)
        if isinstance(obj, set | frozenset):
            return list(obj)
        if isinstance(obj, bytes | bytearray | memoryview):
            return bytes(obj).decode("utf-8")
        if isinstance(obj, enum.Enum):
            return obj.value
        asdict = getattr(obj, "_asdict", None)
        if callable(asdict):
            return asdict()
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    return default


_ENCODERS: dict[tuple[str, bool], json.JSONEncoder] = {}


def get_encoder(name: str = DEFAULT_ENCODER, pretty: bool = False) -> json.JSONEncoder:
    """The (cached) ``json.JSONEncoder`` for a ``JSON_ENCODER`` style.

    Raises ``ValueError`` for an unknown style name.
    """
    key = (name, bool(pretty))
    encoder = _ENCODERS.get(key)
    if encoder is None:
        if name not in _DATETIME_FORMATTERS:
            raise ValueError(
                f"unknown JSON_ENCODER {name!r}; expected one of {', '.join(ENCODER_NAMES)}"
            )
        encoder = json.JSONEncoder(
            ensure_ascii=False,
            indent=2 if pretty else None,
            separators=(",", ": ") if pretty else (",", ":"),
            default=_make_default(name),
        )
        _ENCODERS[key] = encoder
    return encoder


def dumps(obj: Any, encoder: str = DEFAULT_ENCODER, pretty: bool = False) -> str:
    """Serialise ``obj`` to a JSON string with the ``encoder`` style.

    ``pretty=True`` indents with 2 spaces (``app.config.PRETTY_JSON``).
    """
    key = (encoder, bool(pretty))
    encode = _ENCODE.get(key)
    if encode is None:
        encode = _ENCODE[key] = get_encoder(encoder, pretty).encode
    return encode(obj)


#: ``(style, pretty)`` -> the bound ``encode`` of its encoder (``dumps`` runs per request)
_ENCODE: dict[tuple[str, bool], Callable[[Any], str]] = {}


__all__ = ["DEFAULT_ENCODER", "ENCODER_NAMES", "dumps", "get_encoder"]
