"""A plain WSGI app: ``/`` answers VERSION and who served it, ``/crash`` raises."""

import os

VERSION = "version 1"


def app(environ, start_response):
    """``VERSION devel=<environ["skitai.devel"]> pid=<worker> ppid=<its master>``."""
    if environ["PATH_INFO"] == "/crash":
        raise ZeroDivisionError("plain app crashed on purpose")
    body = f"{VERSION} devel={environ.get('skitai.devel')} pid={os.getpid()} ppid={os.getppid()}"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
