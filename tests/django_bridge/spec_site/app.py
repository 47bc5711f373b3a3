"""The spec's Django examples, as written ("Using Django Models" and "You can use Django
Query Set as SQL generator"), on the Django project ``mydjangoapp/``.

``python3 app.py`` serves this app alone: Django's models "without mount app";
``serve.py`` mounts it next to the Django project's own ``wsgi.py``.
"""

import atila
import skitai

# "First of all, you should specify django setting with alias for django database engine."
skitai.alias("@django", skitai.DJANGO, "mydjangoapp/mydjangoapp/settings.py")
# The spec's QuerySet example reads through an alias it calls "@entity": the same database.
skitai.alias("@entity", skitai.DJANGO, "mydjangoapp/mydjangoapp/settings.py")

import django  # noqa: E402 - "Then call django.setup () and you can use your models"

django.setup()  # should call
from mydjangoapp.photos import models  # noqa: E402

app = atila.Atila(__name__)


@app.route("/django/hello")
def django_hello(was):
    models.Photo.objects.create(user="Hans Roh", title="My Photo")
    result = models.Photo.objects.filter(user="Hans Roh").order_by("-create_at")
    return was.API(titles=[photo.title for photo in result])


@app.route("/hello")
def hello(was):
    query = models.Photo.objects.filter(topic=1).order_by("title")
    return was.jstream(was.sqlite3("@entity").execute(query).dispatch().data, "data")


@app.route("/django/alias")
def django_alias(was):
    """QuerySets through ``@django`` (no ``django_bridge.install``), as a corequest."""
    query = models.Photo.objects.filter(topic=1).values("title").order_by("title")
    return was.db("@django").execute(query).then(lambda was, task: was.API(rows=task.fetch()))


@app.route("/mounted")
def mounted(was):
    """The alias a mounted Django project registers (``serve.py``): ``@mydjangoapp``."""
    query = models.Photo.objects.values("title").order_by("title")
    return was.API(rows=was.db("@mydjangoapp").execute(query).fetch())


@app.route("/not-a-statement")
def not_a_statement(was):
    """``execute()`` of an object it cannot run: a ``TypeError``, never its repr as SQL."""
    try:
        was.db("@django").execute(models.Photo(title="not a query"))
    except TypeError as exc:
        return was.API(error=str(exc))
    return was.API(error=None)


if __name__ == "__main__":
    skitai.mount("/", app)
    skitai.run()
