"""py-frameworks-bench's scenarios on Atila (see ``pfb_common.py``), on Skitai.

Written from our docs (docs/atila-core.md, docs/atila-security.md "Uploads").  The
handlers are ``def`` functions (the default: routed on the loop, run on a handler
thread), ``async def`` ones (``--handlers async``: on the event loop, no thread
hand-off) or ``def`` functions marked ``nothread`` (``--handlers nothread``: on the
loop; they never block)::

    python benchmarks/apps/pfb_atila.py --handlers async --port 5000 --workers 2 --silent
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pfb_common import HTML, upload_path  # noqa: E402

import atila  # noqa: E402

HANDLERS = sys.argv[sys.argv.index("--handlers") + 1] if "--handlers" in sys.argv else "def"

app = atila.Atila(__name__)


def ok(was: Any, part: str = "") -> str:
    """One of the ten extra routes."""
    return "ok"


def html(was: Any) -> str:
    """``<b>HTML OK</b>`` with an ``x-time`` header."""
    was.response["x-time"] = f"{time.time()}"
    return HTML


def api(was: Any, user: int, record: int, **args: Any) -> Any:
    """Path ints, the query and the JSON body, back as JSON (401 without Authorization)."""
    if was.request.get_header("authorization") is None:
        return was.response("401 Unauthorized", "ERROR")
    return was.API(
        params={"user": user, "record": record}, query=was.request.query, data=was.request.JSON
    )


def upload(was: Any, file: Any = None) -> Any:
    """Store the multipart ``file`` part (Atila streamed it to a temporary file); its path."""
    if file is None or isinstance(file, str):
        return was.response("400 Bad Request", "ERROR")
    path = upload_path()
    file.save(str(Path(path).parent), name=Path(path).name)
    was.response["Content-Type"] = "text/plain"
    return path


async def ok_async(was: Any, part: str = "") -> str:
    """``ok`` as an ``async def`` handler."""
    return "ok"


async def html_async(was: Any) -> str:
    """``html`` as an ``async def`` handler."""
    return html(was)


async def api_async(was: Any, user: int, record: int, **args: Any) -> Any:
    """``api`` as an ``async def`` handler."""
    return api(was, user, record, **args)


async def upload_async(was: Any, file: Any = None) -> Any:
    """``upload`` as an ``async def`` handler."""
    return upload(was, file)


ASYNC = {ok: ok_async, html: html_async, api: api_async, upload: upload_async}


def route(path: str, function: Callable[..., Any], **options: Any) -> None:
    """Route ``path`` to ``function`` as the chosen kind of handler."""
    if HANDLERS == "nothread":
        options["nothread"] = True
    app.route(path, **options)(ASYNC[function] if HANDLERS == "async" else function)


for _n in range(5):
    route(f"/route-{_n}", ok)
    route(f"/route-dyn-{_n}/<part>", ok)
route("/html", html)
route("/api/users/<int:user>/records/<int:record>", api, methods=["PUT"])
route("/upload", upload, methods=["POST"])


if __name__ == "__main__":
    import skitai

    skitai.mount("/", app)
    skitai.run(ip="127.0.0.1", port=5000, workers=2, threads=4)
