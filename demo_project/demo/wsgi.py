"""The Django WSGI application: mount it instead of ``asgi.py`` to run Django on the
engine's handler threads (``serve.py`` mounts ``asgi.py`` at ``/admin``).

Made by ``django_bridge``: Django is set up and the corequest alias ``@demo``
(the project's database) is registered, as the spec has mounting a Django app do.
"""

import os

from django_bridge.mount import wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

application = wsgi_application()
