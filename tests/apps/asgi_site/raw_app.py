"""A hand-written ASGI 3 app for tests/skitai/test_asgi_live.py: each path breaks the
protocol in one way, or probes disconnects and back-pressure.

``/events`` answers what the probes recorded (one worker: they share this module).
"""

import asyncio
import json

EVENTS: dict[str, object] = {}
RELEASE = asyncio.Event()


async def respond(send, status=200, body=b"ok", headers=()):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"), *headers]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def read_all(receive):
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["counter"] = 0
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await websocket(scope, receive, send)
        return
    path = scope["path"][len(scope["root_path"]) :]
    handler = ROUTES.get(path)
    if handler is None:
        await respond(send, 404, b"no such probe")
        return
    await handler(scope, receive, send)


async def events(scope, receive, send):
    await respond(send, body=json.dumps(EVENTS).encode(), headers=[(b"x-probe", b"events")])


async def state(scope, receive, send):
    scope["state"]["counter"] += 1  # a copy per request: never seen by the next one
    await respond(send, body=str(scope["state"]["counter"]).encode())


async def double_start(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.start", "status": 201, "headers": []})


async def body_before_start(scope, receive, send):
    await send({"type": "http.response.body", "body": b"too early"})


async def body_after_end(scope, receive, send):
    await respond(send, body=b"complete")
    try:
        await send({"type": "http.response.body", "body": b"extra"})
    except RuntimeError as exc:
        EVENTS["body_after_end"] = str(exc)
        raise


async def raise_before(scope, receive, send):
    raise ValueError("boom before the response")


async def raise_after(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise ValueError("boom in the middle of the response")


async def no_response(scope, receive, send):
    return


async def unfinished(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"half", "more_body": True})


async def short_body(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"10")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b"12345"})


async def long_body(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"5")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b"1234567890"})


async def bad_header(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"x-split", b"a\r\nSet-Cookie: evil=1")]})  # fmt: skip


async def bad_status(scope, receive, send):
    await send({"type": "http.response.start", "status": "200 OK", "headers": []})


async def wait_disconnect(scope, receive, send):
    EVENTS["wait_disconnect"] = "waiting"
    await read_all(receive)
    message = await receive()  # nothing more comes: waits until the client leaves
    EVENTS["wait_disconnect"] = message["type"]


async def stream_forever(scope, receive, send):
    """Streams until the client leaves: send() must then raise (an OSError)."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    sent = 0
    try:
        while True:
            await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
            sent += 65536
            EVENTS["streamed"] = sent
    except OSError as exc:
        EVENTS["stream_error"] = type(exc).__name__


async def slow_consumer(scope, receive, send):
    """Reads one piece of the body, then nothing until /release."""
    first = await receive()
    EVENTS["slow_first_chunk"] = len(first.get("body", b""))
    await RELEASE.wait()
    RELEASE.clear()
    rest = await read_all(receive)
    total = len(first.get("body", b"")) + len(rest or b"")
    await respond(send, body=str(total).encode())


async def release(scope, receive, send):
    RELEASE.set()
    await respond(send)


async def read_body(scope, receive, send):
    """Reads the whole body; a body the engine refused ends with http.disconnect."""
    body = await read_all(receive)
    if body is None:
        EVENTS["read_body"] = "disconnect"
        try:
            await respond(send, body=b"should not be sent")
        except OSError as exc:
            EVENTS["read_body_send"] = type(exc).__name__
        return
    await respond(send, body=str(len(body)).encode())


async def hold(scope, receive, send):
    """Answers after the seconds in the query string (in flight while the worker drains)."""
    EVENTS["hold"] = "started"
    await asyncio.sleep(float(scope["query_string"] or 1))
    await respond(send, body=b"held")


async def websocket(scope, receive, send):
    await receive()  # websocket.connect
    path = scope["path"][len(scope["root_path"]) :]
    if path == "/ws-deny":
        await send({"type": "websocket.close", "code": 1008})
    elif path == "/ws-raise":
        raise ValueError("boom before the accept")
    elif path == "/ws-return":
        return
    elif path == "/ws-http":  # the websocket.http.response extension
        assert "websocket.http.response" in scope["extensions"]
        await send({"type": "websocket.http.response.start", "status": 401,
                    "headers": [(b"www-authenticate", b"Bearer")]})  # fmt: skip
        await send({"type": "websocket.http.response.body", "body": b"log in ", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"first"})
    elif path == "/ws-raise-open":
        await send({"type": "websocket.accept"})
        await receive()
        raise ValueError("boom while open")
    else:
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                EVENTS["ws_disconnect"] = message["code"]
                return
            await send({"type": "websocket.send", "text": "got " + str(message.get("text"))})


ROUTES = {
    "/events": events,
    "/state": state,
    "/double-start": double_start,
    "/body-before-start": body_before_start,
    "/body-after-end": body_after_end,
    "/raise-before": raise_before,
    "/raise-after": raise_after,
    "/no-response": no_response,
    "/unfinished": unfinished,
    "/short-body": short_body,
    "/long-body": long_body,
    "/bad-header": bad_header,
    "/bad-status": bad_status,
    "/wait-disconnect": wait_disconnect,
    "/stream-forever": stream_forever,
    "/slow-consumer": slow_consumer,
    "/release": release,
    "/read-body": read_body,
    "/hold": hold,
}
