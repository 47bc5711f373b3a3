"""The Django side of ``bench_corequests.py``: the ORM on gunicorn (gthread).

``wsgi.py`` configures Django in code (PostgreSQL from ``$BENCH_PG_DSN``,
persistent connections), and serves ``GET /bench`` with the ORM equivalent of
the two benchmark queries::

    gunicorn -k gthread -w 2 --threads 4 benchmarks.apps.corequests_django.wsgi:application
"""
