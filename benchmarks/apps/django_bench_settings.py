"""Settings of the plain-Django side of ``bench_django.py``: the demo's, with its own URLs.

gunicorn runs the demo copy's ``demo.wsgi:application`` with
``DJANGO_SETTINGS_MODULE=benchmarks.apps.django_bench_settings``.
"""

from demo.settings import *  # noqa: F403 - the demo's settings, unchanged but for the URLs

ROOT_URLCONF = "benchmarks.apps.django_bench_urls"
