"""A ``serve.py``-style script for the daemon tests: answers with its own file name.

Tests copy it under several names (``app.py``, ``app2.py``) to run two apps.
"""

import os

import skitai


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [os.path.basename(__file__).encode()]


if __name__ == "__main__":
    skitai.mount("/", app)
    skitai.run()
