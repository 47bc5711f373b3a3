"""Parameters and their validation: annotations and @app.inspect."""

import atila

app = atila.Atila(__name__)


@app.route("/search", methods=["GET"])
def search(was, q: str, limit: int = 10):
    """``q`` is required; ``limit`` must be an integer (annotation), 10 when absent."""
    return was.API(q=q, limit=limit)


@app.route("/photos", methods=["POST"])
@app.inspect(
    strings=["title"], title__len__between=(1, 200), ints=["rating"], rating__between=(1, 5)
)
def add_photo(was, title, rating=3):
    """A form or JSON body: ``title`` (1 to 200 characters) and ``rating`` (1 to 5)."""
    return was.API("201 Created", title=title, rating=rating)


@app.route("/photos/<int:photo_id>", methods=["GET"])
def photo(was, photo_id):
    """``<int:photo_id>`` only matches digits and arrives as an ``int``."""
    return was.API(id=photo_id, type=type(photo_id).__name__)
