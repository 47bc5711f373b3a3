"""The demo's Atila services over the Django project's models and users.

``v1`` is the JSON API mounted at ``/api/v1``; ``pages`` the HTML front page
mounted at ``/``; ``v2`` the same reads as QuerySet corequests, mounted at
``/api/v2``.  Importing this package sets Django up with
``demo/settings.py`` (``DJANGO_SETTINGS_MODULE`` wins when it is set) and
registers the corequest alias ``@django`` for its database.
"""

import os

import django_bridge

django_bridge.setup(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "demo", "settings.py")
)
#: ``was.db("@django")``: the project's database for QuerySet corequests.
django_bridge.alias("@django")
