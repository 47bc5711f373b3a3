"""The spec's "Working With Django" server: the Django project mounted at ``/admin`` (its
``wsgi.py`` as ``django-admin startproject`` wrote it), the main app at ``/``."""

import skitai

if __name__ == "__main__":
    # mount django admin
    with skitai.preference() as pref:
        pref.use_reloader = True
        pref.use_debug = True
        # '/' mapped with django.admin in urls.py
        skitai.mount("/admin", "mydjangoapp/mydjangoapp/wsgi.py", "application", pref)

    # mount main app
    with skitai.preference() as pref:
        pref.use_reloader = True
        pref.use_debug = True
        skitai.mount("/", "app.py", pref=pref)

    skitai.run()
