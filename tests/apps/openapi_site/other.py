"""A second Atila app on the same engine: it publishes its own document at /other/openapi.json."""

from typing import Any

import atila

app = atila.Atila(__name__)
app.config.OPENAPI = True
app.config.OPENAPI_JSON_PATH = "/spec.json"
app.config.OPENAPI_DOCS_PATH = "/explorer"
app.config.OPENAPI_UI = "redoc"
#: ``__spec__`` in API answers to local clients (pytest --docs) leaves the document alone
app.expose_spec = True


@app.route("/hello", methods=["GET"])
def hello(was: Any, name: str = "world") -> Any:
    """Say hello."""
    return was.API(hello=name)
