"""Two Atila apps on one engine, for the hub tests (tests/atila/test_hub_live.py).

``chat.py`` at ``/`` has the spec's WebSocket push (``item_in_stock``), a
``WS_GROUPCHAT`` room and a broadcasting route; ``photos.py`` at ``/photos``
listens to the broadcast; ``/setlu/news`` and ``/getlu/news`` show the shared
state.  Every answer names the worker's pid, so a test can
see that a connection and a request landed on different workers.  With
``NOTES_DSN`` set, ``notes.py`` at ``/notes`` keeps notes in that PostgreSQL
database (the deployment test: engines behind nginx share it).
"""

import os

import skitai

skitai.register_states("news")
skitai.mount("/", "chat.py")
skitai.mount("/photos", "photos.py")
if os.environ.get("NOTES_DSN"):
    skitai.alias("@notes", skitai.DB_PGSQL, os.environ["NOTES_DSN"])
    skitai.mount("/notes", "notes.py")
skitai.run(workers=2, threads=4)
