"""Permissions with Django users: a level is a Django permission, a group, or "staff"."""

import atila
import django_bridge

app = atila.Atila(__name__)
django_bridge.install(app)  # was.request.user: the Django user of the session or the JWT
django_bridge.add_token_route(app, "/token")


@app.route("/me", methods=["GET"])
@app.permission_required()  # any logged-in user
def me(was):
    """Who is asking."""
    return was.API(username=was.request.user.get_username())


@app.route("/photos/export", methods=["GET"])
@app.permission_required(["photos.view_photo"])  # a Django permission (user's or group's)
def export(was):
    """Users who may view every photo."""
    return was.API(export="ok")


@app.route("/editorial", methods=["GET"])
@app.permission_required(["editors", "staff"])  # any one of them: group "editors", or staff
def editorial(was):
    """Members of the group "editors", and staff users."""
    return was.API(desk="editorial")


@app.route("/audit", methods=["GET"])
@app.run_before(django_bridge.requires("auditors"))  # the same check, as a run_before hook
def audit(was):
    """Members of the group "auditors" (a superuser passes every check)."""
    return was.API(audit="ok")
