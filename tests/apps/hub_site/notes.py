"""Notes in PostgreSQL (the deployment test): every engine behind nginx shares one database.

Mounted at ``/notes`` when ``NOTES_DSN`` names a database (``serve.py``); the
table ``note (id serial, body text, pid int)`` is the test's to create.
"""

import os

import atila

app = atila.Atila(__name__)


@app.route("/add", methods=["POST"])
def add(was, body):
    with was.db("@notes") as db:
        row = db.execute(
            "INSERT INTO note (body, pid) VALUES (%s, %s) RETURNING id", (body, os.getpid())
        ).one()
    return was.API(id=row.id, pid=os.getpid())


@app.route("/list")
def listing(was):
    with was.db("@notes") as db:
        rows = db.execute("SELECT body, pid FROM note ORDER BY id").fetch()
    return was.API(pid=os.getpid(), rows=[[row.body, row.pid] for row in rows])
