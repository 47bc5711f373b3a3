"""Errors: JSON for API clients, a page for browsers, a handler of your own."""

import atila

app = atila.Atila(__name__)
PHOTOS = {1: "Sunset"}


@app.route("/photos/<int:photo_id>", methods=["GET"])
def photo(was, photo_id):
    """A missing photo is a 404 with a reason the client can show."""
    if photo_id not in PHOTOS:
        raise was.Error("404 Not Found", f"no photo {photo_id}")
    return was.API(id=photo_id, title=PHOTOS[photo_id])


@app.route("/crash")
def crash(was):
    """An unexpected exception is a 500; the traceback stays in the log."""
    raise RuntimeError("something went wrong")


legacy = atila.Atila("legacy")


@legacy.error_handler(404)
def not_found(was, error):
    """Every 404 of this app answers with this text, whatever the client."""
    return f"nothing here: {error['detail'] or error['url']}\n"


@legacy.route("/")
def index(was):
    """The only page."""
    return "legacy index\n"
