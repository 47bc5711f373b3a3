"""A service mounted into the sample app: its routes are in the app's document, tagged."""

from typing import Any


def __mount__(app: Any) -> None:
    @app.route("/ping", methods=["GET"])
    def ping(was: Any) -> Any:
        """Ping the service."""
        return was.API(pong=True)
