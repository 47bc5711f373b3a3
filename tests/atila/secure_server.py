"""A real Skitai server running an Atila app that uses every security feature.

Test modules import the fixtures: ``live`` (the server, started once per
module, and a :class:`skitai.testing.LiveClient` on it), ``server_dir`` (its
directory: ``uploads/``, ``tmp/``) and ``browser`` (another client with its
own cookie jar, per test).  :func:`new_browser` makes more such clients.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from skitai.testing import LiveClient, test_client

SECUREKEY = "test-securekey-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOP"
MAX_UPLOAD = 4096

SERVE = f"""
import os, time
import skitai
import atila

HERE = os.path.dirname(os.path.abspath(__file__))
app = atila.Atila("secure")
app.securekey = {SECUREKEY!r}
app.session_timeout = 60
app.realm = "Partner Area"
app.users = {{
    "app": ("iamyourpartnerapp", False, {{"role": "root"}}),
    "md5user": ("0fafbeae657cbc9c1ac32bc7739226c8", True),
}}
app.config.MAX_UPLOAD_SIZE = {MAX_UPLOAD}
app.config.UPLOAD_TEMP_DIR = os.path.join(HERE, "tmp")
os.makedirs(app.config.UPLOAD_TEMP_DIR, exist_ok=True)
os.makedirs(os.path.join(HERE, "templates"), exist_ok=True)
with open(os.path.join(HERE, "templates", "form.html"), "w") as f:
    f.write("<form method=post>{{{{ was.csrf_token_input }}}}<input name=x></form>")
app.templates.add_directory(os.path.join(HERE, "templates"))

# -- sessions and messages ----------------------------------------------------
@app.route("/session/set")
def session_set(was, key, value):
    was.session.set(key, value)
    return was.API(keys=sorted(was.session.keys()))

@app.route("/session/get")
def session_get(was, key):
    s = was.request.session
    return was.API(value=s.get(key), verified=s.source_verified(), getv=s.getv(key),
                   exists=s.exists(None), impending=s.impending(), use_time=s.use_time())

@app.route("/session/expiry")
def session_expiry(was, timeout):
    was.session.set_expiry(int(timeout))
    return "ok"

@app.route("/session/expire")
def session_expire(was):
    was.session.expire()
    return "ok"

@app.route("/admin/login")
def admin_login(was):
    was.request.session.mount("ADM", path="/admin", session_timeout=30)
    was.request.session.set("admin_login", True)
    return "ok"

@app.route("/admin/check")
def admin_check(was):
    was.request.session.mount("ADM", path="/admin")
    return was.API(admin=was.session.get("admin_login"), default=was.session.exists(None),
                   adm=was.session.exists("ADM"))

@app.route("/msg/send")
def msg_send(was):
    was.mbox.send("flash message", "flash")
    was.mbox.send("kept 60s", "alarm", valid=60, icon="bell")
    return was.redirect("/msg/show")

@app.route("/msg/show")
def msg_show(was, category=None):
    return was.API(messages=[list(m) for m in was.mbox.get(category)])

@app.route("/msg/fail")
def msg_fail(was):
    was.mbox.get()
    raise was.Error("500 Internal Server Error", "failed")

# -- authentication ----------------------------------------------------------------
@app.route("/auth/digest", authenticate="digest")
def auth_digest(was):
    return was.API(name=was.request.user.name, realm=was.request.user.realm,
                   info=was.request.user.info)

@app.route("/auth/basic")
@app.authorization_required("basic")
def auth_basic(was):
    return was.API(name=was.request.user.name)

@app.route("/auth/bearer")
@app.authorization_required("bearer")
def auth_bearer(was):
    return was.API(user=str(was.request.user), jwt=dict(was.request.JWT))

@app.route("/token/jwt")
def token_jwt(was, username="hansroh", ttl=3600):
    return was.encode_jwt({{"username": username, "exp": time.time() + int(ttl)}})

@app.route("/token/ott")
def token_ott(was, data="hans", bind=""):
    return was.encode_ott(data, 3600, bind or None)

@app.route("/token/ott/use")
def token_ott_use(was, token):
    value = was.decode_ott(token)
    if value is None:
        return was.response("400 Bad Request")
    return was.API(value=value)

@app.route("/token/ott/revoke")
def token_ott_revoke(was, token):
    was.revoke_ott(token)
    return "revoked"

def check_otp(was):
    if not was.verify_otp(was.request.get_header("x-otp")):
        raise was.Error("403 Forbidden", "bad one-time password")

@app.route("/otp-task")
@app.testpass_required(check_otp)
def otp_task(was):
    return "done"

# -- permissions -------------------------------------------------------------------
@app.login_handler
def login_handler(was):
    if was.request.session.get("username"):
        return
    return was.response("401 Unauthorized", "please sign in")

@app.permission_check_handler
def permission_check_handler(was, perms):
    claims = was.request.JWT
    if "err" in claims:
        raise was.Error("401 Unauthorized", claims["err"])
    was.request.user = claims.get("username")
    if not perms or claims.get("level") == "admin":
        return
    if "admin" in perms:
        raise was.Error("403 Forbidden", "admin only")
    if "staff" in perms and claims.get("level") != "staff":
        raise was.Error("403 Forbidden", "staff only")

@app.staff_member_check_handler
def staff_check(was):
    if was.request.session.get("level") != "staff":
        raise was.Error("403 Forbidden", "staff permission required")

@app.route("/signin")
def signin(was, username, level="user"):
    was.session.set("username", username)
    was.session.set("level", level)
    return "signed in"

@app.route("/private")
@app.login_required
def private(was):
    return "private for " + was.session.get("username")

@app.route("/staff")
@app.staff_member_required
@app.login_required
def staff(was):
    return "staff area"

@app.route("/episodes/<int:uid>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@app.permission_required(uid=["staff"])
def episodes(was, uid):
    return was.API(uid=uid, user=was.request.user)

@app.route("/animals/<id>", methods=["GET", "POST", "DELETE"])
@app.permission_required(["user"], id=["staff"], DELETE=["admin"])
def animals(was, id=None):
    return was.API(id=id)

@app.route("/clarified")
@app.clarify_permission
def clarified(was):
    return "granted" if was.request.user else "denied"

def answer_test(was):
    answer = was.request.PARAMS["answer"]
    if answer in ("true", "false", "none"):
        return {{"true": True, "false": False, "none": None}}[answer]
    return was.response("402 Payment Required", "pay")

@app.route("/testpass/<answer>")
@app.testpass_required(answer_test)
def testpass(was, answer):
    return "passed"

# -- CSRF ------------------------------------------------------------------------
@app.route("/form")
def form(was):
    return was.csrf_token_input

@app.route("/form/page")
def form_page(was):
    return was.render("form.html")

@app.route("/form/token")
def form_token(was):
    return was.csrf_token

@app.route("/form/post", methods=["POST"])
@app.csrf_verification_required
def form_post(was, **form):
    return "accepted"

@app.route("/form/check", methods=["POST"])
def form_check(was, **form):
    return was.API(ok=was.verify_csrf())

@app.route("/form/forget")
def form_forget(was):
    was.remove_csrf()
    return "forgotten"

# -- uploads ---------------------------------------------------------------------
@app.route("/upload", methods=["POST"])
def upload(was, **form):
    file = form.get("file")
    if not file:
        return was.API(file=None, fields=sorted(form))
    saved = file.save(os.path.join(HERE, "uploads"), mkdir=True,
                      name=form.get("save_as") or None, dup=form.get("dup", "u"))
    return was.API(name=file.name, size=file.size, mimetype=file.mimetype,
                   saved=os.path.relpath(saved, HERE), note=form.get("note"))

@app.route("/upload/read", methods=["POST"])
def upload_read(was, file, **form):
    return was.API(text=file.read().decode(), temp=os.path.relpath(file.path, HERE))

# -- parameters (a second app: the default upload size, for deep JSON bodies) ----
params = atila.Atila("params")

@params.route("/items")
@params.inspect(ints=["limit"], limit__gte=1)
def params_items(was, limit=10):
    return was.API(next=limit + 1)

@params.route("/item")
@params.inspect(ints=["id"])
def params_item(was, id):
    return was.API(double=id * 2)

@params.route("/json", methods=["POST"])
def params_json(was, **data):
    return was.API(keys=sorted(data))

@params.route("/size", methods=["POST"])
def params_size(was):
    return was.API(size=len(was.request.body))

if __name__ == "__main__":
    skitai.mount("/params", params)
    skitai.mount("/", app)
    skitai.run()
"""


def challenges(response: object) -> list[dict[str, str]]:
    """The parameters of each ``WWW-Authenticate`` header of ``response``."""
    found = []
    for value in response.raw.headers.getlist("WWW-Authenticate"):  # type: ignore[attr-defined]
        found.append(dict(re.findall(r'(\w+)="?([^",]*)"?', value.partition(" ")[2])))
    return found


def digest_header(challenge: dict[str, str], user: str, password: str, method: str, uri: str,
                  nc: int = 1, cnonce: str = "0a4f113b") -> str:  # fmt: skip
    """An RFC 7616 ``Authorization: Digest`` value answering ``challenge``."""
    hash_ = hashlib.sha256 if challenge["algorithm"] == "SHA-256" else hashlib.md5

    def h(text: str) -> str:
        return hash_(text.encode()).hexdigest()

    ha1 = h(f"{user}:{challenge['realm']}:{password}")
    ha2 = h(f"{method}:{uri}")
    response = h(f"{ha1}:{challenge['nonce']}:{nc:08x}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="{challenge["realm"]}", nonce="{challenge["nonce"]}", '
        f'uri="{uri}", algorithm={challenge["algorithm"]}, response="{response}", qop=auth, '
        f'nc={nc:08x}, cnonce="{cnonce}", opaque="{challenge["opaque"]}"'
    )


def start(directory: Path) -> LiveClient:
    """Write the server script into ``directory``, start it, return a client."""
    script = directory / "serve.py"
    script.write_text(textwrap.dedent(SERVE))
    return test_client(str(script), devel=False)


def new_browser(live: LiveClient) -> LiveClient:
    """Another client (own cookie jar) on the same server."""
    return LiveClient(live.base_url)


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """The server's directory (one per test module)."""
    return tmp_path_factory.mktemp(request.module.__name__)


@pytest.fixture(scope="module")
def live(server_dir: Path) -> Iterator[LiveClient]:
    """The running server (one per test module) and a client on it."""
    client = start(server_dir)
    yield client
    client.stop()


@pytest.fixture
def browser(live: LiveClient) -> Iterator[LiveClient]:
    """A fresh client with its own cookie jar."""
    client = new_browser(live)
    yield client
    client.close()
