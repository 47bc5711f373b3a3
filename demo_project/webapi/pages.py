"""``/``: the demo's front page, an HTML list of photos rendered with Jinja2.

It sees the same Django session as ``/admin``: log in to the admin and the
page greets you by name.  It updates live: the page keeps a WebSocket open on
``/live``; when a photo is saved or deleted (in the admin, or anywhere through
Django's ORM) a Django signal broadcasts ``photos:changed``
(``app.broadcast``), every worker's copy of this app gets it
(``@app.on_broadcast``) and tells its own open pages, which reload the list.
The server runs 2 workers, so the admin's request and a page's socket are
often on different workers: the message hub carries the event across.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from jinja2 import Environment, FileSystemLoader, select_autoescape
from photos.models import Photo

import atila
import django_bridge
import skitai

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

app = atila.Atila(__name__)
django_bridge.install(app)
#: Built once at import; autoescaping on for HTML.
templates = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
)


@app.route("/", methods=["GET"])
def index(was: Any) -> Any:
    """The latest photos, newest first."""
    found = Photo.objects.select_related("owner").order_by("-created", "-id")[:100]
    was.response.set_header("Content-Type", "text/html; charset=utf-8")
    return templates.get_template("index.html").render(user=was.request.user, photos=list(found))


#: This worker's open live pages (WebSocket client ids).
live_pages: set[str] = set()
_live_lock = threading.Lock()


def _page_opened(was: Any) -> None:
    with _live_lock:
        live_pages.add(was.websocket.client_id)
    was.websocket.send(f"worker {os.getpid()}")  # the page shows which worker it talks to


def _page_closed(was: Any) -> None:
    with _live_lock:
        live_pages.discard(was.websocket.client_id)


@app.route("/live")
@app.websocket(skitai.WS_CHANNEL | skitai.WS_NOTHREAD, None, _page_opened, _page_closed)
def live(was: Any, message: str) -> None:
    """The pages only listen."""


@app.on_broadcast("photos:changed")
def tell_pages(was: Any, photo_id: int) -> None:
    """A photo changed (on any worker): tell this worker's open pages."""
    with _live_lock:
        pages = list(live_pages)
    for client_id in pages:
        app.websocket_send(client_id, "photos:changed")


def _photo_changed(sender: Any, instance: Photo, **kwargs: Any) -> None:
    # after the commit: a page that reloads at once must find the change (the admin
    # saves inside a transaction, and the signal comes before its end)
    photo_id = instance.pk
    transaction.on_commit(lambda: app.broadcast("photos:changed", photo_id))


post_save.connect(_photo_changed, sender=Photo, dispatch_uid="pages-live-save")
post_delete.connect(_photo_changed, sender=Photo, dispatch_uid="pages-live-delete")
