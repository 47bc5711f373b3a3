"""Corequests: SQLite queries and a function on a task thread, without holding a handler thread.

python3 serve.py --port 5000          # notes.sqlite3 in the current directory
NOTES_DB=/tmp/notes.sqlite3 python3 serve.py --port 5000
"""

import os
import sqlite3

import atila
import skitai

app = atila.Atila(__name__)


@app.route("/notes", methods=["GET"])
def notes(was):
    """Blocking style: fetch() waits on this handler thread. Simple, fine for most routes."""
    rows = was.db("@notes").execute("SELECT id, text FROM notes ORDER BY id").fetch()
    return was.API(rows=rows)


@app.route("/notes", methods=["POST"])
def add_note(was, text: str):
    """Values go in as parameters (``?``), never pasted into the SQL."""
    was.db("@notes").execute("INSERT INTO notes (text) VALUES (?)", (text,)).commit()
    return was.API("201 Created", text=text)


@app.route("/notes/<int:note_id>", methods=["GET"])
def note(was, note_id):
    """then(): the handler returns at once; the answer is built when the row arrives."""
    task = was.db("@notes").execute("SELECT id, text FROM notes WHERE id = ?", (note_id,))
    return task.then(lambda was, task: was.API(task.one()))  # one(): 404 when no row


def word_count(texts):
    """Plain Python work, run on a task thread."""
    return sum(len(text.split()) for text in texts)


@app.route("/summary", methods=["GET"])
def summary(was):
    """was.Map: two corequests at once; the JSON is built when both are done."""
    return was.Map(
        count__one__n=was.db("@notes").execute("SELECT count(*) AS n FROM notes"),
        latest=was.db("@notes").execute("SELECT text FROM notes ORDER BY id DESC LIMIT 3"),
    )


@app.route("/words", methods=["GET"])
async def words(was):
    """async def runs on the event loop: await a corequest instead of fetch()."""
    rows = (await was.db("@notes").execute("SELECT text FROM notes")).fetch()
    count = await was.Thread(word_count, args=([row.text for row in rows],))
    return was.API(words=count.fetch())


if __name__ == "__main__":
    database = os.path.abspath(os.environ.get("NOTES_DB", "notes.sqlite3"))
    with sqlite3.connect(database) as connection:  # the schema, before the workers start
        connection.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)")
    skitai.alias("@notes", skitai.DB_SQLITE3, database)
    skitai.mount("/", app)
    skitai.run(ip="127.0.0.1", port=5000)
