"""An Atila app: ``/debug`` tells whether it runs in debug mode, ``/crash`` raises."""

import atila

app = atila.Atila(__name__)


@app.route("/debug")
def debug(was):
    return was.API(debug=app.debug)


@app.route("/crash")
def crash(was):
    raise LookupError("atila handler crashed on purpose")
