"""A small Atila app, mounted at /api by serve.py."""

import atila

app = atila.Atila(__name__)


@app.route("/hello/<name>")
def hello(was, name: str, greeting: str = "Hello"):
    """Greet ``name``; ``?greeting=`` changes the word."""
    return was.API(message=f"{greeting}, {name}")
