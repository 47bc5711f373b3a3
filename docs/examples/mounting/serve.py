"""Two apps and a directory of static files on one engine.

python3 serve.py --port 5000
"""

import os

import skitai

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    # an app from a file: the path and the name of the app object in it
    skitai.mount("/api", os.path.join(HERE, "greeting.py"), "app")
    # a plain WSGI callable
    skitai.mount("/plain", os.path.join(HERE, "wsgi_app.py"), "application")
    # a directory: every file under it, with ETag, Range and If-None-Match support
    skitai.mount("/", os.path.join(HERE, "static"))
    skitai.run(ip="127.0.0.1", port=5000)
