"""Serve the demo: Django (ASGI) at /admin, a Starlette service at /svc, Atila at /api/v1,
/api/v2 and /, static files: WSGI and ASGI apps on one engine.

    python3 serve.py --port 5000        # foreground, on 127.0.0.1:5000
    python3 serve.py start|stop|status  # as a daemon
    python3 manage.py runskitai --port 5000   # the same, through Django

Run ``python3 manage.py migrate`` and ``python3 manage.py ensure_demo_user``
once first (``python3 dev.py demo`` does both).  Django and the Atila services
share the SQLite file ``db.sqlite3`` beside this script (or ``DATABASE_URL``).
"""

import os

import django

import skitai

HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN_STATIC = os.path.join(os.path.dirname(django.__file__), "contrib", "admin", "static", "admin")

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    with skitai.preference() as pref:
        skitai.mount("/admin", os.path.join(HERE, "demo", "asgi.py"), "application", pref)
    skitai.mount("/svc", os.path.join(HERE, "webapi", "svc.py"), "app")
    skitai.mount("/static/admin", ADMIN_STATIC)
    skitai.mount("/api/v1", os.path.join(HERE, "webapi", "v1.py"), "app")
    skitai.mount("/api/v2", os.path.join(HERE, "webapi", "v2.py"), "app")
    skitai.mount("/", os.path.join(HERE, "webapi", "pages.py"), "app")
    skitai.mount("/", os.path.join(HERE, "static"))
    # 2 workers: the front page's live updates cross them through the embedded hub
    skitai.run(ip="127.0.0.1", port=5000, workers=2, threads=4, name="atila-demo")
