"""The engine's deferred-response contract (``skitai.types.DeferredBody``) with a plain
WSGI app and the worker's corequest hub (``environ["skitai.corequests"]``), no framework."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable

from skitai.testing import LiveClient

PLAIN = """
import time
import skitai

class Later:
    '''A DeferredBody: the response is made once a corequest finished.'''

    def __init__(self, task, start_response):
        self.task = task
        self.start_response = start_response

    def __iter__(self):  # other servers: wait here
        yield from self.resume()

    def on_ready(self, fn):
        self.task.on_ready(fn)

    def resume(self):
        body = ("slept %s" % self.task.fetch()).encode()
        self.start_response("200 OK", [("Content-Type", "text/plain"),
                                       ("Content-Length", str(len(body)))])
        return [body]

def app(environ, start_response):
    if environ["PATH_INFO"] == "/fast":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"fast"]
    hub = environ["skitai.corequests"]
    return Later(hub.thread(lambda: time.sleep(0.8) or 0.8), start_response)

if __name__ == "__main__":
    skitai.mount("/", app)
    skitai.run(threads=1)
"""


def test_plain_wsgi_app_defers_without_holding_the_thread(
    serve: Callable[..., LiveClient],
) -> None:
    live = serve(PLAIN)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        started = time.monotonic()
        slow = [pool.submit(live.clone().get, "/slow") for _ in range(3)]
        time.sleep(0.2)
        fast = live.clone().get("/fast")
        fast_after = time.monotonic() - started
        bodies = [f.result().text for f in slow]
        total = time.monotonic() - started
    assert fast.text == "fast" and fast_after < 0.7
    assert bodies == ["slept 0.8"] * 3 and total < 1.5
