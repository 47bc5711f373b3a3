"""Serve the demo: the Django admin at /admin, its static files, and the front page.

    python3 serve.py --port 5000        # foreground
    python3 serve.py start|stop|status  # as a daemon

Run ``python3 manage.py migrate`` once first (``python3 dev.py demo`` does it).
"""

import os

import django

import skitai

HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN_STATIC = os.path.join(os.path.dirname(django.__file__), "contrib", "admin", "static", "admin")

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    with skitai.preference() as pref:
        skitai.mount("/admin", "demo/wsgi.py", "application", pref)
    skitai.mount("/static/admin", ADMIN_STATIC)
    skitai.mount("/", os.path.join(HERE, "static"))
    skitai.run(ip="127.0.0.1", port=5000, workers=1, threads=4, name="atila-demo")
