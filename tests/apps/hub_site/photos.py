"""Another app of the server: it only listens to the broadcast (spec "Communication with Event")."""

from events import note

import atila

app = atila.Atila(__name__)


@app.on_broadcast("item:added")
def refresh(was, value):
    note("photos", value)
