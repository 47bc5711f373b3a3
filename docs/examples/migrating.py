"""A small Flask-style notes API, written for Atila (the how-to's table maps each line)."""

import time

import atila

app = atila.Atila(__name__)
NOTES: dict[int, str] = {}


@app.before_request
def start_clock(was):
    """Flask's @app.before_request; returning content would answer the request."""
    app.r.started = time.monotonic()  # app.r: per-request storage (Flask's g)


@app.finish_request
def add_timing(was):
    """Runs after a handler that succeeded (Flask's @app.after_request)."""
    elapsed_ms = (time.monotonic() - app.r.started) * 1000
    was.response.set_header("Server-Timing", f"app;dur={elapsed_ms:.1f}")


@app.route("/notes", methods=["GET"])
def list_notes(was):
    """Flask: return jsonify(...)."""
    return was.API(notes=[{"id": key, "text": text} for key, text in sorted(NOTES.items())])


@app.route("/notes", methods=["POST"])
def add_note(was, text: str):
    """Flask: request.form["text"] or request.json["text"]; here a parameter, checked."""
    note_id = max(NOTES, default=0) + 1
    NOTES[note_id] = text
    return was.API("201 Created", id=note_id, url=was.urlfor(get_note, note_id))


@app.route("/notes/<int:note_id>", methods=["GET"])
def get_note(was, note_id):
    """Flask: abort(404)."""
    if note_id not in NOTES:
        raise was.Error("404 Not Found", f"no note {note_id}")
    return was.API(id=note_id, text=NOTES[note_id])


@app.route("/", methods=["GET"])
def index(was):
    """Flask: redirect(url_for("list_notes"))."""
    return was.redirect(was.urlfor(list_notes))
