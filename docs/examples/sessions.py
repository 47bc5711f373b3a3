"""Login with a session cookie: a login form, a page for logged-in users, logout."""

import hmac

import atila

app = atila.Atila(__name__)
#: signs and encrypts the session cookie; keep the real one out of the code
app.securekey = "change-me-to-a-long-random-string"
USERS = {"alice": "alice-pass-1"}  # a real app checks hashed passwords in a database


@app.login_handler
def require_login(was):
    """Called for @app.login_required routes: None lets the request in."""
    if was.request.session.get("username") is None:
        raise was.Error("401 Unauthorized", "log in first")


@app.route("/login", methods=["POST"])
def login(was, username, password):
    """Check the password and remember the user in the session."""
    expected = USERS.get(username, "")
    if not hmac.compare_digest(expected.encode(), password.encode()) or not expected:
        raise was.Error("401 Unauthorized", "wrong username or password")
    was.request.session.set("username", username)
    return was.API(username=username)


@app.route("/me", methods=["GET"])
@app.login_required
def me(was):
    """Only for logged-in users."""
    return was.API(username=was.request.session.get("username"))


@app.route("/logout", methods=["POST"])
def logout(was):
    """Forget the user: the session cookie is deleted."""
    was.request.session.expire()
    return was.API(logged_out=True)
