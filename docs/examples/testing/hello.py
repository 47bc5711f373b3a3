"""The app under test."""

import atila

app = atila.Atila(__name__)


@app.route("/hello/<name>", methods=["GET"])
def hello(was, name: str, greeting: str = "Hello"):
    """Greet ``name``."""
    return was.API(message=f"{greeting}, {name}")
