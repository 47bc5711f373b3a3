"""An Atila app: ``/debug`` tells whether it runs in debug mode, ``/crash`` raises."""

import debug_tools

import atila

app = atila.Atila(__name__)
app.mount("/", debug_tools, debug_only=True)


@app.route("/debug")
def debug(was):
    return was.API(debug=app.debug)


@app.route("/crash")
def crash(was):
    raise LookupError("atila handler crashed on purpose")
