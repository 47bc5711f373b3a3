"""``/``: the demo's front page, an HTML list of photos rendered with Jinja2.

It sees the same Django session as ``/admin``: log in to the admin and the
page greets you by name.
"""

from __future__ import annotations

import os
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from photos.models import Photo

import atila
import django_bridge

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
