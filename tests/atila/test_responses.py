"""was.response, API/Fault, File/Static, redirect, Queue and build_response (spec: "Response")."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import sys
import threading
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from atila.errors import HTTPError
from atila.payloads import StreamClosed, StreamQueue, parse_range
from atila.responses import (
    API,
    Fault,
    File,
    NotModified,
    Queue,
    Response,
    ResponseContext,
    Static,
    build_response,
    format_traceback,
    redirect,
)


def run(result: Any, response: Response | None = None, **context: Any) -> tuple[str, dict, bytes]:
    """build_response, consume and close the body; headers as a lower-case dict."""
    status, headers, body = build_response(
        result, response or Response(), ResponseContext(**context)
    )
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in headers)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return status, {k.lower(): v for k, v in headers}, data


class Closing:
    """Records close()."""

    closed = False

    def close(self) -> None:
        self.closed = True


# --------------------------------------------------------------------------- was.response


def test_the_three_spec_forms_are_the_same() -> None:
    first = Response()
    one = run(first("200 OK", "<p>hi</p>", [("Cache-Control", "max-age=60")]), first)
    second = Response()
    two = run(second(body="<p>hi</p>", headers=[("Cache-Control", "max-age=60")]), second)
    third = Response()
    third.set_header("Cache-Control", "max-age=60")
    three = run("<p>hi</p>", third)
    assert one == two == three
    status, headers, body = one
    assert status == "200 OK"
    assert headers == {
        "cache-control": "max-age=60",
        "content-type": "text/html; charset=utf-8",
        "content-length": "9",
    }
    assert body == b"<p>hi</p>"


def test_status_and_header_methods() -> None:
    response = Response()
    response.set_status(404)
    assert response.get_status() == "404 Not Found" and response.status_code == 404
    response.set_header("X-A", "1")
    response.set_header("x-a", 2)
    assert response.get_headers() == [("x-a", "2")]
    response["Content-Type"] = "text/plain"
    assert response["content-type"] == "text/plain" and "CONTENT-TYPE" in response
    del response["Content-Type"]
    assert response["Content-Type"] is None and response.get_header("x", "d") == "d"
    response.append_header("Set-Cookie", "a=1")
    response.append_header("Set-Cookie", "b=2")
    response.set_headers([("Set-Cookie", "c=3"), ("Set-Cookie", "d=4"), ("X-B", "b")])
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["c=3", "d=4"]
    response.set_headers({"X-B": "c"})
    assert response.get_header("x-b") == "c"
    response.set_header("X-B", None)
    response.del_header("x-a")
    assert "X-B" not in response and "x-a" not in response
    response.hint_promise("/style.css")  # accepted, ignored


def test_content_type_set_before_returning_text() -> None:
    response = Response()
    response["Content-Type"] = "text/plain"
    status, headers, body = run("User-Agent: *\nDisallow: /\n", response)
    assert headers["content-type"] == "text/plain"
    assert body == b"User-Agent: *\nDisallow: /\n"


def test_throw_raises_http_error() -> None:
    with pytest.raises(HTTPError) as caught:
        Response().throw("503 Service Unavailable", "busy")
    assert caught.value.code == 503 and caught.value.message == "Service Unavailable"
    assert caught.value.detail == "busy"


def test_error_status_without_body_gets_a_page() -> None:
    response = Response()
    status, headers, body = run(response("404 Not Found"), response, accept="text/html")
    assert status == "404 Not Found"
    assert headers["content-type"].startswith("text/html")
    assert b"404 Not Found" in body
    status, headers, body = run(response, response, accept="*/*")  # curl: JSON
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"message": "Not Found", "code": 404}


def test_with_explain_detail_and_json_clients() -> None:
    response = Response()
    result = response.with_explain("503 Service Unavailable", "Please Visit On Thursday")
    assert result is response and response.detail == "Please Visit On Thursday"
    status, _, body = run(result, response, accept="text/html")
    assert status == "503 Service Unavailable" and b"Please Visit On Thursday" in body
    status, headers, body = run(result, response, accept="application/json")
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "message": "Service Unavailable",
        "code": 503,
        "detail": "Please Visit On Thursday",
    }


def test_error_renderer_hook() -> None:
    seen = []

    def render(status: str, detail: str | None, exc_info: Any) -> str:
        seen.append((status, detail, exc_info))
        return f"custom {status}"

    response = Response().with_explain(410, "gone for good")
    status, _, body = run(response, response, error_renderer=render)
    assert status == "410 Gone" and body == b"custom 410 Gone"
    assert seen == [("410 Gone", "gone for good", None)]


def test_exc_info_shows_the_traceback_even_without_debug() -> None:
    response = Response()
    try:
        raise ValueError("Test Error")
    except ValueError:
        response("500 Internal Server Error", exc_info=sys.exc_info())
    status, _, body = run(response, response, debug=False)
    assert status == "500 Internal Server Error"
    assert b"Test Error" in body and b"test_responses.py" in body


# --------------------------------------------------------------------------- validators


def test_set_etag_headers() -> None:
    response = Response()
    response.set_etag("photo-1", max_age=60)
    assert response["ETag"] == f'"{hashlib.md5(b"photo-1").hexdigest()}"'
    assert response["Cache-Control"] == "max-age=60"
    response.set_etag("v1", as_etag=True)
    assert response["ETag"] == '"v1"'


def test_set_etag_raises_304_when_the_client_has_it() -> None:
    ctx = ResponseContext(if_none_match='"v1"')
    response = Response(ctx)
    with pytest.raises(NotModified) as caught:
        response.set_etag("v1", max_age=10, as_etag=True)
    assert caught.value.code == 304
    assert ("ETag", '"v1"') in caught.value.headers
    status, headers, body = build_response(None, response, ctx)
    assert status == "304 Not Modified" and list(body) == []
    assert "Content-Length" not in dict(headers) and dict(headers)["ETag"] == '"v1"'


def test_set_etag_without_match_goes_on() -> None:
    response = Response(ResponseContext(if_none_match='"other"'))
    response.set_etag("v1", as_etag=True)
    response = Response(ResponseContext(method="POST", if_none_match='"v1"'))
    response.set_etag("v1", as_etag=True)


def test_set_mtime_and_if_modified_since() -> None:
    mtime = 1_700_000_000
    response = Response()
    response.set_mtime(mtime, max_age=5)
    assert response["Last-Modified"] == formatdate(mtime, usegmt=True)
    assert response["Cache-Control"] == "max-age=5"
    Response().set_mtime(dt.datetime(2030, 1, 1))
    newer = ResponseContext(if_modified_since=formatdate(mtime + 10, usegmt=True))
    with pytest.raises(NotModified):
        Response(newer).set_mtime(mtime)
    older = ResponseContext(if_modified_since=formatdate(mtime - 10, usegmt=True))
    Response(older).set_mtime(mtime)
    legacy = ResponseContext(if_modified_since=formatdate(mtime, usegmt=True) + "; length=3")
    Response(legacy).set_mtime(mtime, length=4)  # size changed: no 304
    with pytest.raises(NotModified):
        Response(legacy).set_mtime(mtime, length=3)
    junk = ResponseContext(if_modified_since="yesterday")
    Response(junk).set_mtime(mtime)


def test_set_etag_mtime_if_none_match_wins() -> None:
    mtime = 1_700_000_000
    ctx = ResponseContext(
        if_none_match='"other"', if_modified_since=formatdate(mtime + 10, usegmt=True)
    )
    response = Response(ctx)
    response.set_etag_mtime("v1", mtime, as_etag=True)
    assert response["ETag"] == '"v1"' and response["Last-Modified"]
    with pytest.raises(NotModified):
        Response(ResponseContext(if_none_match='W/"x", "v1"')).set_etag_mtime(
            "v1", mtime, as_etag=True
        )


def test_build_response_answers_304_for_headers_set_without_context() -> None:
    response = Response()
    response.set_etag("v1", as_etag=True)
    status, headers, body = run("<p>big page</p>", response, if_none_match='"v1"')
    assert status == "304 Not Modified" and body == b""
    assert "content-length" not in headers and "content-type" not in headers
    assert run("<p>x</p>", response, if_none_match="*")[0] == "304 Not Modified"
    assert run("<p>x</p>", response, method="POST", if_none_match='"v1"')[0] == "200 OK"


# --------------------------------------------------------------------------- API / Fault


def test_api_responses() -> None:
    status, headers, body = run(API(data=[1, 2, 3]))
    assert status == "200 OK" and headers["content-type"] == "application/json"
    assert json.loads(body) == {"data": [1, 2, 3]} and headers["content-length"] == str(len(body))
    assert run(API())[2] == b"{}"
    status, _, body = run(API("201 Created", id=1))
    assert status == "201 Created" and json.loads(body) == {"id": 1}
    assert run(API({"a": 1}, b=2))[2] == b'{"a":1,"b":2}'
    assert run(API(__data_dict__={"a": 1}))[2] == b'{"a":1}'
    assert API(404).status == "404 Not Found"
    with pytest.raises(TypeError):
        API(["rows"])


def test_no_content_apis_have_no_body() -> None:
    status, headers, body = run(API("205 No Content"))
    assert status == "205 No Content" and body == b""
    assert headers == {"content-length": "0"}
    status, headers, body = run(API("204 No Content", ignored=1))
    assert status == "204 No Content" and body == b"" and headers == {}


def test_api_takes_the_response_status_when_it_has_none() -> None:
    response = Response()
    status, _, body = run(response("202 Accepted", API(queued=True)), response)
    assert status == "202 Accepted" and body == b'{"queued":true}'


def test_plain_dicts_are_json() -> None:
    assert run({"a": None})[1]["content-type"] == "application/json"


def test_json_encoder_and_pretty_json_from_context() -> None:
    value = API(t=dt.datetime(2030, 12, 24, 15, 9))
    assert run(value)[2] == b'{"t":"2030-12-24 15:09:00+00"}'
    assert run(value, json_encoder="digit")[2] == b'{"t":"20301224150900"}'
    assert run(value, json_encoder="iso", pretty_json=True)[2] == (
        b'{\n  "t": "2030-12-24T15:09:00"\n}'
    )


def test_fault_forms_from_the_spec() -> None:
    assert run(Fault("200 OK", data=[1, 2, 3]))[2] == b'{"data":[1,2,3]}'
    status, _, body = run(Fault("201 Accepted"))
    assert status == "201 Accepted"
    assert body == b"{}"
    status, _, body = run(Fault("400 Bad Request", "missing parameter", 10021))
    assert status == "400 Bad Request"
    assert json.loads(body) == {"message": "missing parameter", "code": 10021}
    fault = Fault(
        "400 Bad Request",
        "missing parameter",
        10021,
        "need parameter offset and limit",
        "http://127.0.0.1/moreinfo/10021",
    )
    assert dict(fault) == {
        "message": "missing parameter",
        "code": 10021,
        "debug": "need parameter offset and limit",
        "more_info": "http://127.0.0.1/moreinfo/10021",
    }
    assert dict(Fault("404 Not Found")) == {"message": "Not Found", "code": None}


def _fail_here() -> None:
    raise NameError("name 'aa' is not defined")


def test_fault_with_traceback() -> None:
    try:
        _fail_here()
    except NameError:
        fault = Fault("500 Internal Server Error", "somethig is not valid", 10022, traceback=True)
        from_response = Response().traceback()
    assert fault.status == "500 Internal Server Error"
    assert fault["message"] == "somethig is not valid" and fault["code"] == 10022
    assert fault["debug"] == "see traceback"
    assert fault["traceback"][0] == "name 'aa' is not defined"
    assert fault["traceback"][-1].endswith(", function _fail_here")
    assert fault["traceback"][-1].startswith("in file ")
    assert " at line " in fault["traceback"][-1]
    assert from_response["code"] == 10001 and from_response["debug"] == "see traceback"
    assert from_response.status == "200 OK"


def test_fault_exc_info_forms() -> None:
    error = ValueError("bad")
    try:
        raise error
    except ValueError:
        info = sys.exc_info()
    assert Fault(500, "x", exc_info=info)["traceback"][0] == "bad"
    assert Fault(500, "x", exc_info=error)["traceback"][0] == "bad"
    assert Fault(500, "x", exc_info=["already", "formatted"])["traceback"] == [
        "already",
        "formatted",
    ]
    assert "traceback" not in Fault(500, "x", traceback=True)  # nothing being handled
    assert format_traceback(None) == []


def test_fault_how_to_form_without_status() -> None:
    fault = Fault("not found", "40400", None, "no such page", exc_info=None)
    assert fault.status is None
    assert dict(fault) == {"message": "not found", "code": "40400", "more_info": "no such page"}
    response = Response()
    response.set_status(404)
    assert run(fault, response)[0] == "404 Not Found"


# --------------------------------------------------------------------------- redirect


def test_redirect() -> None:
    status, headers, body = run(redirect("/login?next=/a&b=<c>"))
    assert status == "302 Found" and headers["location"] == "/login?next=/a&b=<c>"
    assert b"&lt;c&gt;" in body
    assert run(redirect("/x", 301))[0] == "301 Moved Permanently"


def test_redirect_keeps_headers_set_on_was_response() -> None:
    response = Response()
    response.append_header("Set-Cookie", "sid=1")
    response.set_header("Content-Type", "text/plain")
    _, headers, _ = run(redirect("/home", "303 See Other"), response)
    assert headers["set-cookie"] == "sid=1" and headers["location"] == "/home"
    assert headers["content-type"].startswith("text/html")


# --------------------------------------------------------------------------- body kinds


def test_bytes_none_and_numbers() -> None:
    assert run(b"\x00\x01")[2] == b"\x00\x01"
    status, headers, body = run(None)
    assert status == "200 OK" and body == b"" and headers["content-length"] == "0"
    assert run(100)[2] == b"100"
    assert run(1.5)[2] == b"1.5"


def test_generator_streams_and_close_propagates() -> None:
    closed = []

    def generate() -> Iterator[str]:
        try:
            yield "a,b\n"
            yield b"c,d\n"
            yield "한\n"
        finally:
            closed.append(True)

    response = Response()
    status, headers, body = run(
        response("200 OK", generate(), [("Content-Type", "text/csv")]), response
    )
    assert body == "a,b\nc,d\n한\n".encode()
    assert headers["content-type"] == "text/csv" and "content-length" not in headers
    assert closed == [True]

    gen = generate()
    _, _, chunks = build_response(gen, Response(), ResponseContext())
    assert next(iter(chunks)) == b"a,b\n"
    chunks.close()  # type: ignore[attr-defined]
    assert closed == [True, True]


def test_file_like_objects() -> None:
    status, headers, body = run(io.BytesIO(b"0123456789"))
    assert body == b"0123456789" and headers["content-length"] == "10"


def test_real_file_length_type_and_close(tmp_path: Path) -> None:
    path = tmp_path / "movie.mp4"
    path.write_bytes(b"x" * 100_000)
    handle = open(path, "rb")  # noqa: SIM115 - closed by the response
    handle.read(10)
    status, headers, body = run(handle)
    assert len(body) == 99_990 and headers["content-length"] == "99990"
    assert headers["content-type"] == "video/mp4"
    assert handle.closed


def test_more_objects_and_next_objects() -> None:
    class Producer(Closing):
        def __init__(self) -> None:
            self.items = [b"a", "b"]

        def more(self) -> bytes | str:
            return self.items.pop(0) if self.items else b""

    class OldIterator(Closing):
        def __init__(self) -> None:
            self.n = 0

        def next(self) -> str:
            self.n += 1
            if self.n > 2:
                raise StopIteration
            return str(self.n)

    producer, old = Producer(), OldIterator()
    assert run(producer)[2] == b"ab" and producer.closed
    assert run(old)[2] == b"12" and old.closed


def test_lists_of_parts() -> None:
    producer = io.BytesIO(b"[file]")
    status, headers, body = run(["<a>", b"<b>", producer])
    assert body == b"<a><b>[file]" and headers["content-length"] == "12"
    assert producer.closed
    status, headers, body = run(("x", iter(["y", "z"])))
    assert body == b"xyz" and "content-length" not in headers


@pytest.mark.parametrize("value", [object(), [{"a": 1}], [3]])
def test_unsupported_bodies_raise_type_error(value: Any) -> None:
    with pytest.raises(TypeError):
        run(value)


def test_head_keeps_content_length_and_drops_the_body() -> None:
    status, headers, body = run("hello", method="HEAD")
    assert body == b"" and headers["content-length"] == "5"
    producer = io.BytesIO(b"abc")
    status, headers, body = run(producer, method="HEAD")
    assert body == b"" and headers["content-length"] == "3" and producer.closed


# --------------------------------------------------------------------------- File


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "picture.png"
    path.write_bytes(bytes(range(256)) * 4)
    return path


def test_file(picture: Path) -> None:
    status, headers, body = run(File(picture))
    assert status == "200 OK" and body == picture.read_bytes()
    assert headers["content-type"] == "image/png"
    assert headers["content-length"] == "1024"
    assert headers["accept-ranges"] == "bytes"
    assert headers["last-modified"] == formatdate(picture.stat().st_mtime, usegmt=True)
    assert headers["etag"].startswith('"') and "content-disposition" not in headers


def test_file_mimetype_and_download_name(picture: Path) -> None:
    _, headers, _ = run(File(str(picture), "text/html"))
    assert headers["content-type"] == "text/html"
    _, headers, _ = run(File(picture, filename="report.pdf"))
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"] == 'attachment; filename="report.pdf"'
    _, headers, _ = run(File(picture, filename="보고서.pdf"))
    assert "filename*=UTF-8''%EB%B3%B4%EA%B3%A0%EC%84%9C.pdf" in headers["content-disposition"]


def test_missing_file_is_404(tmp_path: Path) -> None:
    with pytest.raises(HTTPError) as caught:
        File(tmp_path / "nothing.txt")
    assert caught.value.code == 404
    with pytest.raises(HTTPError):
        File(tmp_path)  # a directory


def test_file_conditional_get(picture: Path) -> None:
    _, headers, _ = run(File(picture))
    status, again, body = run(File(picture), if_none_match=headers["etag"])
    assert status == "304 Not Modified" and body == b"" and "content-length" not in again
    status, _, _ = run(File(picture), if_modified_since=headers["last-modified"])
    assert status == "304 Not Modified"
    assert run(File(picture), if_none_match='"stale"')[0] == "200 OK"


def test_file_ranges(picture: Path) -> None:
    data = picture.read_bytes()
    status, headers, body = run(File(picture), range="bytes=10-19")
    assert status == "206 Partial Content" and body == data[10:20]
    assert headers["content-range"] == "bytes 10-19/1024" and headers["content-length"] == "10"
    assert run(File(picture), range="bytes=1000-")[2] == data[1000:]
    assert run(File(picture), range="bytes=-4")[2] == data[-4:]
    assert run(File(picture), range="bytes=1020-5000")[2] == data[1020:]
    status, headers, body = run(File(picture), range="bytes=2000-")
    assert status == "416 Range Not Satisfiable" and body == b""
    assert headers["content-range"] == "bytes */1024"
    # several ranges or nonsense: the whole file
    assert run(File(picture), range="bytes=0-1,5-6")[0] == "200 OK"
    assert run(File(picture), range="lines=1-2")[0] == "200 OK"
    status, headers, body = run(File(picture), range="bytes=0-9", method="HEAD")
    assert status == "206 Partial Content" and body == b"" and headers["content-length"] == "10"


def test_file_if_range(picture: Path) -> None:
    _, headers, _ = run(File(picture))
    assert run(File(picture), range="bytes=0-0", if_range=headers["etag"])[0].startswith("206")
    assert run(File(picture), range="bytes=0-0", if_range='"old"')[0] == "200 OK"
    modified = headers["last-modified"]
    assert run(File(picture), range="bytes=0-0", if_range=modified)[0].startswith("206")
    old = formatdate(0, usegmt=True)
    assert run(File(picture), range="bytes=0-0", if_range=old)[0] == "200 OK"


def test_file_as_error_page_body(picture: Path) -> None:
    response = Response()
    status, _, body = run(response("404 Not Found", File(picture)), response, range="bytes=0-1")
    assert status == "404 Not Found" and len(body) == 1024


def test_parse_range_edges() -> None:
    assert parse_range("bytes=5-2", 10) is None
    assert parse_range("bytes=a-b", 10) is None
    assert parse_range("bytes=-0", 10) == (-1, -1)
    assert parse_range("bytes=0-", 0) == (-1, -1)
    assert parse_range("bytes=-20", 10) == (0, 9)


# --------------------------------------------------------------------------- Static


@pytest.fixture
def static_root(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    (root / "assets").mkdir(parents=True)
    (root / "robots.real.txt").write_text("User-Agent: *\n")
    (root / "assets" / "style.css").write_text("body {}")
    (tmp_path / "secret.txt").write_text("secret")
    return root


def test_static_resolves_urls_under_the_root(static_root: Path) -> None:
    root = str(static_root)
    status, headers, body = run(Static("/robots.real.txt"), static_root=root)
    assert status == "200 OK" and body == b"User-Agent: *\n"
    assert headers["content-type"] == "text/plain" and "etag" in headers
    assert run(Static("assets/style.css"), static_root=root)[2] == b"body {}"
    prefixed = run(Static("/static/assets/style.css"), static_root=root, static_url="/static/")
    assert prefixed[2] == b"body {}"
    assert run(Static("/assets/style%2Ecss?v=1"), static_root=root)[2] == b"body {}"


def test_static_validators_and_ranges(static_root: Path) -> None:
    root = str(static_root)
    _, headers, _ = run(Static("/robots.real.txt"), static_root=root)
    status, _, _ = run(Static("/robots.real.txt"), static_root=root, if_none_match=headers["etag"])
    assert status == "304 Not Modified"
    status, _, body = run(Static("/robots.real.txt"), static_root=root, range="bytes=0-3")
    assert status == "206 Partial Content" and body == b"User"


@pytest.mark.parametrize(
    "url",
    [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/nothing.txt",
        "/assets",
        "/assets\\..\\..\\secret.txt",
    ],
)
def test_static_never_leaves_the_root(static_root: Path, url: str) -> None:
    with pytest.raises(HTTPError) as caught:
        run(Static(url), static_root=str(static_root))
    assert caught.value.code == 404


def test_static_symlink_out_of_the_root_is_refused(static_root: Path) -> None:
    os.symlink(static_root.parent / "secret.txt", static_root / "link.txt")
    with pytest.raises(HTTPError):
        run(Static("/link.txt"), static_root=str(static_root))


def test_static_without_a_root_is_404() -> None:
    with pytest.raises(HTTPError) as caught:
        run(Static("/robots.txt"))
    assert caught.value.code == 404


# --------------------------------------------------------------------------- Queue


def test_queue_streams_from_a_thread() -> None:
    threads = []

    def produce(queue: StreamQueue) -> None:
        threads.append(threading.current_thread())
        for n in range(200):
            queue.put(str(n) + ",")
        queue.put(b"end")
        queue.put(None)

    status, headers, body = run(Queue(produce))
    assert body == ("".join(f"{n}," for n in range(200)) + "end").encode()
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert "content-length" not in headers
    assert threads[0] is not threading.current_thread() and threads[0].daemon


def test_queue_ends_when_the_producer_returns() -> None:
    assert run(Queue(lambda queue: queue.put("only")))[2] == b"only"


def test_queue_close_stops_the_producer() -> None:
    stopped = threading.Event()

    def produce(queue: StreamQueue) -> None:
        try:
            while True:
                queue.put("x" * 10)
        except StreamClosed:
            stopped.set()
            raise

    _, _, body = build_response(Queue(produce), Response(), ResponseContext())
    assert next(iter(body)) == b"x" * 10
    body.close()  # type: ignore[attr-defined]
    assert stopped.wait(5)


def test_queue_producer_errors_end_the_stream_with_an_error() -> None:
    def produce(queue: StreamQueue) -> None:
        queue.put("partial")
        raise KeyError("boom")

    _, _, body = build_response(Queue(produce), Response(), ResponseContext())
    chunks = iter(body)
    assert next(chunks) == b"partial"
    with pytest.raises(RuntimeError, match="producer failed"):
        next(chunks)


def test_queue_head_never_starts_the_producer() -> None:
    started = []
    status, headers, body = run(Queue(started.append), method="HEAD")
    assert body == b"" and started == []


def test_stream_queue_timeout() -> None:
    queue = StreamQueue(maxsize=1)
    queue.put("a")
    with pytest.raises(TimeoutError):
        queue.put("b", timeout=0.01)
    assert queue.get() == "a"
    queue.close()
    with pytest.raises(StreamClosed):
        queue.put("c")
