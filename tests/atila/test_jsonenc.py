"""JSON_ENCODER styles and PRETTY_JSON (spec: "Datetime Encoding JSON")."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import time
import uuid
from collections import namedtuple
from collections.abc import Iterator

import pytest

from atila import jsonenc

KST = dt.timezone(dt.timedelta(hours=9))
# 2030-12-24 15:09:00 UTC, given as 2030-12-25 00:09:00+09:00
AWARE = dt.datetime(2030, 12, 25, 0, 9, tzinfo=KST)
NAIVE = dt.datetime(2030, 12, 24, 15, 9)


@pytest.fixture
def seoul_local_time() -> Iterator[None]:
    """Run with the process's local time zone set to Asia/Seoul (UTC+9)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "Asia/Seoul")
    time.tzset()
    try:
        yield
    finally:
        mp.undo()
        time.tzset()


@pytest.mark.parametrize("value", [AWARE, NAIVE])
def test_utcoffset_is_the_default_and_writes_utc(value: dt.datetime) -> None:
    assert jsonenc.dumps({"t": value}) == '{"t":"2030-12-24 15:09:00+00"}'


def test_utcoffset_keeps_microseconds() -> None:
    value = NAIVE.replace(microsecond=250000)
    assert jsonenc.dumps(value, "utcoffset") == '"2030-12-24 15:09:00.250000+00"'


def test_iso_is_utc_without_offset() -> None:
    assert jsonenc.dumps(AWARE, "iso") == '"2030-12-24T15:09:00"'
    assert jsonenc.dumps(NAIVE, "iso") == '"2030-12-24T15:09:00"'


def test_unixepoch_is_a_float_in_utc() -> None:
    expected = dt.datetime(2030, 12, 24, 15, 9, tzinfo=dt.UTC).timestamp()
    for value in (AWARE, NAIVE):
        decoded = json.loads(jsonenc.dumps({"t": value}, "unixepoch"))["t"]
        assert isinstance(decoded, float)
        assert decoded == expected


def test_digit_is_a_utc_digit_string() -> None:
    assert jsonenc.dumps(AWARE, "digit") == '"20301224150900"'
    assert jsonenc.dumps(NAIVE.replace(microsecond=5), "digit") == '"20301224150900"'


def test_str_writes_local_time_without_zone(seoul_local_time: None) -> None:
    aware_utc = dt.datetime(2030, 12, 24, 15, 9, tzinfo=dt.UTC)
    assert jsonenc.dumps(aware_utc, "str") == '"2030-12-25 00:09:00"'
    # naive values are written as they are
    assert jsonenc.dumps(NAIVE, "str") == '"2030-12-24 15:09:00"'


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("utcoffset", '"2030-12-24"'),
        ("str", '"2030-12-24"'),
        ("iso", '"2030-12-24"'),
        ("digit", '"20301224"'),
    ],
)
def test_dates(style: str, expected: str) -> None:
    assert jsonenc.dumps(dt.date(2030, 12, 24), style) == expected


def test_date_unixepoch_is_midnight_utc() -> None:
    expected = dt.datetime(2030, 12, 24, tzinfo=dt.UTC).timestamp()
    assert json.loads(jsonenc.dumps(dt.date(2030, 12, 24), "unixepoch")) == expected


class Color(enum.Enum):
    RED = "red"


def test_other_types() -> None:
    row = namedtuple("Row", "id name")(1, "hans")
    value = {
        "time": dt.time(15, 9),
        "delta": dt.timedelta(minutes=1, seconds=30),
        "price": decimal.Decimal("12.50"),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "tags": {"a"},
        "raw": b"bytes",
        "color": Color.RED,
        "row": row,
        "korean": "한글",
    }
    assert json.loads(jsonenc.dumps(value)) == {
        "time": "15:09:00",
        "delta": 90.0,
        "price": "12.50",
        "id": "12345678-1234-5678-1234-567812345678",
        "tags": ["a"],
        "raw": "bytes",
        "color": "red",
        "row": [1, "hans"],  # tuples stay arrays; _asdict only for non-tuple rows
        "korean": "한글",
    }
    assert "한글" in jsonenc.dumps(value)  # UTF-8 text, not \\u escapes


def test_objects_with_asdict_become_objects() -> None:
    class Row:
        def _asdict(self) -> dict[str, int]:
            return {"id": 7}

    assert jsonenc.dumps([Row()]) == '[{"id":7}]'


def test_pretty_uses_two_spaces() -> None:
    assert jsonenc.dumps({"a": [1]}, pretty=True) == '{\n  "a": [\n    1\n  ]\n}'


def test_unknown_style_and_unknown_objects_fail() -> None:
    with pytest.raises(ValueError, match="JSON_ENCODER"):
        jsonenc.dumps({}, "rfc")
    with pytest.raises(TypeError, match="object"):
        jsonenc.dumps(object())


def test_encoders_are_built_once() -> None:
    assert jsonenc.get_encoder("iso") is jsonenc.get_encoder("iso")
    assert jsonenc.get_encoder("iso", True) is not jsonenc.get_encoder("iso")
