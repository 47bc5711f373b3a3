"""The Django ASGI application, mounted by ``serve.py`` at ``/admin``.

The engine serves it on the worker's event loop: the async views of
``demo/views.py`` run there, and Django runs the admin's (sync) views in its own
thread.  Made by ``django_bridge``, as ``wsgi.py`` is: Django is set up and the
corequest alias ``@demo`` (the project's database) is registered.
"""

import os

from django_bridge.mount import asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

application = asgi_application()
