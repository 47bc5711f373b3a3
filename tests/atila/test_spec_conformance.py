"""Black-box conformance with the spec (spec/atila-framework.txt), through a running server.

Every code example of the spec's Atila core sections (app options, routing, request,
parameters, inspect, URL building, responses, API responses, JSON encoders, hooks,
autoruns, app storage, custom error handling, CORS, XML-RPC, logging, expose_spec and the
"How To" error handler) runs here, minimally adapted (typos fixed, bodies filled in), in
ONE server started for the module, and each test asserts what a reader of the spec
expects: statuses, headers, bodies and JSON shapes.  Deliberate readings are in
docs/atila-core.md.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import socket
import textwrap
import time
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from skitai.testing import LiveClient, test_client

SERVE = r"""
import datetime
import os
import re
import sys

import skitai
import atila
from atila import Atila, was

# ---------------------------------------------------------------- root app
app = Atila(__name__)
app.config.MYVALUE = 1


@app.route("/")
def index(was):
    return "Hello, World"


@app.route("/hello", methods=["GET"], content_types=["text/xml"])
def hello_xml(was):
    return "xml hello"


@app.route("/multi", methods=["POST"])
@app.route("/multi2")
def multi(was):
    return "multi " + was.request.method


app.unroute("/examples/*", 404)


@app.route("/examples/one")
def example_one(was):
    return "should be blocked"


@app.route("/config")
def config(was):
    c = app.config
    return was.API(
        MAX_UPLOAD_SIZE=c.MAX_UPLOAD_SIZE, MEDIA_URL=c.MEDIA_URL, STATIC_URL=c.STATIC_URL,
        MINIFY_HTML=c.MINIFY_HTML, JSON_ENCODER=c.JSON_ENCODER, PRETTY_JSON=c.PRETTY_JSON,
        MYVALUE=c.MYVALUE, debug=app.debug, use_reloader=app.use_reloader,
        securekey=app.securekey, session_timeout=app.session_timeout,
        authenticate=app.authenticate, realm=app.realm, users=app.users,
        enable_namespace=app.enable_namespace,
        access_control_allow_origin=app.access_control_allow_origin,
        access_control_max_age=app.access_control_max_age,
        has_jinja_env=app.jinja_env is not None,
        build_url=app.build_url("config"),
        ROOTPREF=c.get("ROOTPREF"), MAINTAIN_INTERVAL=c.MAINTAIN_INTERVAL,
    )


@app.route("/ctx/set")
def ctx_set(was):
    app.r.user_id = "jerry"
    app.g.visits = app.g.get("visits", 0) + 1
    app.g["dict_style"] = "yes"
    return was.API(r=app.r.user_id, visits=app.g.visits)


@app.route("/ctx/get")
def ctx_get(was):
    return was.API(r=getattr(app.r, "user_id", None), visits=app.g["visits"],
                   dict_style=app.g.dict_style)


# ---- request
@app.route("/req", methods=["GET", "POST", "PUT"])
def req(was, **kw):
    r = was.request
    return was.API(
        method=r.method, command=r.command, uri=r.uri, version=r.version, scheme=r.scheme,
        h_lower=r.headers.get("x-custom"), h_upper=r.headers.get("X-CUSTOM"),
        h_item=r.headers["X-Custom"],
        body=r.body.decode() if r.body else r.body,
        args=dict(r.args), routed=r.routed.__name__,
        routable_methods=sorted(r.routable["methods"]),
        routable_keys=sorted(r.routable),
        acceptables=r.acceptables,
        acc_json=r.acceptable("application/json"), acc_html=r.acceptable("text/html"),
        split_uri=list(r.split_uri()),
        get_header=r.get_header("CONTENT-TYPE"),
        get_headers=[list(pair) for pair in r.get_headers() if pair[0].lower() == "x-custom"],
        get_body=(r.get_body() or b"").decode(),
        get_scheme=r.get_scheme(), remote=r.get_remote_addr(), ua=r.get_user_agent(),
        ctype=r.get_content_type(), main=r.get_main_type(), sub=r.get_sub_type(),
    )


@app.route("/req/body", methods=["POST"])
def req_body(was, **kw):
    r = was.request
    ctype = r.get_content_type()
    return was.API(
        json=r.json() if ctype == "application/json" else None,
        form=r.form() if ctype == "application/x-www-form-urlencoded" else None,
        dict=r.dict(), FORM=dict(r.FORM or {}), JSON=dict(r.JSON or {}),
        DATA=dict(r.DATA or {}), URL=dict(r.URL or {}), ARGS=dict(r.ARGS),
        DEFAULT=dict(r.DEFAULT or {}), kw=kw,
    )


@app.route("/req/default/<int:id>")
def req_default(was, id, limit=10, **kw):
    r = was.request
    return was.API(DEFAULT=dict(r.DEFAULT or {}), ARGS=dict(r.ARGS), PARAMS=dict(r.PARAMS),
                   URL=dict(r.URL or {}))


@app.route("/merge", methods=["GET", "POST"])
def merge(was, **kw):
    return was.API(args=dict(was.request.args))


@app.route("/render/<int:id>")
def render(was, id):
    return was.render("hello.htm")


@app.route("/roa")
def roa(was):
    return was.render_or_API("index.html", result="R")


@app.route("/sum")
def logsum():
    was.log("called index", "info")
    try:
        raise ValueError("x")
    except Exception:
        was.log("exception occured", "error")
        tid = was.traceback()
    was.log("done index", "info")
    return was.API(id=tid, uri=was.request.uri)


@app.route("/api/205", methods=["DELETE"])
def api_205(was):
    return was.API("205 No Content")


# ---- parameters
@app.route("/episode/<int:id>")
def episode(was, id):
    return was.API(id=id, type=type(id).__name__)


@app.route("/episode0/<int:id>")
def episode0(was, id):
    return id


@app.route("/episode2/<int:id>")
def episode2(was, **karg):
    return str(was.request.ARGS.get("id"))


@app.route("/episode3/<int:id>", methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"])
def episode3(was, id=None):
    if was.request.method == "POST" and id is None:
        return was.API(id=99)
    return was.API(id=id, a=was.urlfor("episode3"), b=was.urlfor("episode3", 100))


@app.route("/episode4/<int:id>")
def episode4(was, id, topic, comment=None):
    return was.API(id=id, topic=topic, comment=comment)


@app.route("/episode5/<int:id>")
def episode5(was, id, **karg):
    return was.API(id=id, topic=karg.get("topic"), karg=karg,
                   args_topic=was.request.args.get("topic"))


@app.route("/q1")
def q1(was, num=8):
    return num


@app.route("/q2")
def q2(was):
    return str(was.request.ARGS.get("num"))


@app.route("/q3")
def q3(was, **url):
    return "%s %s" % (url.get("num"), was.request.URL.get("num"))


@app.route("/post1", methods=["POST"])
def post1(was, **form):
    return "Post %s %s" % (form.get("userid", ""), form.get("comment", ""))


@app.route("/post2", methods=["POST"])
def post2(was, userid, **form):
    return "Post %s %s" % (userid, form.get("comment", ""))


@app.route("/pets/<kind>", methods=["GET", "POST"])
@app.inspect("JSON", ["area"])
def pets(was, kind, limit, offset=0, **JSON):
    return was.API(kind=kind, limit=limit, offset=offset, JSON=JSON)


@app.route("/path/<int:major_ver>/<path:path>")
def download(was, major_ver, path):
    return was.API(major_ver=major_ver, path=path)


@app.route("/kind/<name>")
def kind(was, name):
    return name


# ---- inspect
@app.route("/test")
@app.inspect("ARGS", ["id"], ints=["id"])
def insp_test(was, id):
    return was.API(id=id, type=type(id).__name__)


@app.route("/insp1", methods=["GET", "PUT"])
@app.inspect("GET", ints=["offset", "limit"])
@app.inspect("PUT", ["id"])
def index6(was, offset=0, limit=10, **DATA):
    assert isinstance(limit, int)
    if was.request.method == "PUT":
        return was.API(current=DATA["id"])
    return was.API(offset=offset, limit=limit)


@app.route("/insp2/<int:id>")
@app.inspect(offset=int, prodtype=[int, str])
def insp2(was, id, offset, prodtype):
    return was.API(offset=offset, otype=type(offset).__name__, prodtype=prodtype)


@app.route("/insp3")
@app.inspect("ARGS", a__gte=5, b__between=(-4, -1), c__in=(1, 2))
def insp3(was):
    return ""


@app.route("/insp4")
@app.require("ARGS", a=re.compile("^hans"))
def insp4(was):
    return ""


@app.route("/insp5")
@app.inspect("ARGS", a__len__between=(4, 8))
def insp5(was):
    return ""


@app.route("/insp15", methods=["POST"])
@app.require(data___scores__1__gte=10)
def index15(was, data):
    return ""


@app.route("/insp6")
@app.inspect("ARGS", emails=["e"], uuids=["u"], floats=["f"], booleans=["b"],
             lists=["l"], strings=["s"], oneof=["x", "y"])
def insp6(was, **kw):
    return was.API(kw=kw)


@app.route("/insp7")
@app.inspect("ARGS", notags=["t"], safes=["s"])
def insp7(was, t="", s=""):
    return was.API(t=t, s=s)


# ---- notme
@app.permission_check_handler
def permission_check(was, perms):
    if "staff" in perms and was.request.get_header("x-role") != "staff":
        raise was.Error("403 Forbidden")


@app.login_handler
def login(was):
    return None


@app.route("/episodes/<int:uid>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
@app.permission_required(uid=["staff"])
def episodes(uid):
    return "uid %s" % uid


# ---- responses
@app.route("/r/headers1")
def r_headers1(was):
    return was.response("200 OK", "page", [("Cache-Control", "max-age=60")])


@app.route("/r/headers2")
def r_headers2(was):
    return was.response(body="page", headers=[("Cache-Control", "max-age=60")])


@app.route("/r/headers3")
def r_headers3(was):
    was.response.set_header("Cache-Control", "max-age=60")
    return "page"


@app.route("/r/404body")
def r_404body(was):
    return was.response("404 Not Found", "my 404 page")


@app.route("/r/404")
def r_404(was):
    return was.response("404 Not Found")


@app.route("/r/exc")
def r_exc(was):
    try:
        raise ValueError("Test Error")
    except Exception:
        return was.response("500 Internal Server Error", exc_info=sys.exc_info())


@app.route("/r/file")
def r_file(was):
    return was.response("200 OK", open("picnic.bin", "rb"), headers=[("Content-Type", "video/mp4")])


@app.route("/r/csv")
def r_csv(was):
    def generate():
        for row in [["a", "b"], ["c", "d"]]:
            yield ",".join(row) + "\n"
    return was.response("200 OK", generate(), headers=[("Content-Type", "text/csv")])


CLOSED = []


class Iter:
    def __init__(self):
        self.items = [b"i1", b"i2", b"i3"]

    def __iter__(self):
        return self

    def __next__(self):
        if not self.items:
            raise StopIteration
        return self.items.pop(0)

    def close(self):
        CLOSED.append("iter")


class More:
    def __init__(self):
        self.items = ["m1", "m2"]

    def more(self):
        return self.items.pop(0).encode() if self.items else b""

    def close(self):
        CLOSED.append("more")


class Reader:
    def __init__(self):
        self.data = b"readable-data"

    def read(self, size=-1):
        out, self.data = self.data, b""
        return out

    def close(self):
        CLOSED.append("reader")


@app.route("/r/iter")
def r_iter(was):
    return Iter()


@app.route("/r/more")
def r_more(was):
    return More()


@app.route("/r/reader")
def r_reader(was):
    return Reader()


@app.route("/r/list")
def r_list(was):
    return ["s", b"b", More(), Reader()]


@app.route("/r/tuple")
def r_tuple(was):
    return ("a", "b")


@app.route("/r/bytes")
def r_bytes(was):
    return b"raw bytes"


class Endless:
    def more(self):
        return b"x" * 65536

    def close(self):
        CLOSED.append("endless")


@app.route("/r/endless")
def r_endless(was):
    return Endless()


@app.route("/r/etag_raw")
def r_etag_raw(was):
    was.response.set_etag("raw-v1", as_etag=True)
    return "raw"


@app.route("/r/closed")
def r_closed(was):
    return ",".join(sorted(CLOSED))


@app.route("/r/throw")
def r_throw(was):
    was.response.throw("403 Forbidden")
    return "not reached"


@app.route("/r/status")
def r_status(was):
    was.response.set_status("202 Accepted")
    was.response.set_headers([("X-A", "1"), ("X-B", "2")])
    was.response.set_header("X-C", "3")
    was.response.del_header("X-B")
    return was.API(status=was.response.get_status(), xa=was.response.get_header("X-A"),
                   xb=was.response.get_header("X-B"),
                   headers=[list(h) for h in was.response.get_headers()])


@app.route("/r/setitem")
def r_setitem(was):
    was.response["Content-Type"] = "text/plain"
    return "User-Agent: *\nDisallow: /\n"


@app.route("/r/etag")
def r_etag(was):
    was.response.set_etag("v1", max_age=300)
    return "etagged"


@app.route("/r/mtime")
def r_mtime(was):
    was.response.set_mtime(1600000000, max_age=60)
    return "mtimed"


@app.route("/r/etag_mtime")
def r_etag_mtime(was):
    was.response.set_etag_mtime("v2", 1600000000, max_age=10)
    return "both"


@app.route("/r/notfound/<filename>")
def getfile(was, filename):
    if not os.path.isfile(filename):
        raise was.Error("404 Not Found", "{} not exists".format(filename))
    return was.File(filename)


@app.route("/r/png/<filename>")
def getpng(was, filename):
    assert filename.endswith(".png"), was.Error("400 Not My Fault", "filename must be end with png")
    return was.File(filename)


@app.route("/r/stream")
def stream(was):
    def stream():
        for i in range(100):
            yield "<CHUNK>"
    return was.response("200 OK", stream(), headers=[("Content-Type", "text/plain")])


class Producer:
    def __init__(self):
        self.left = 3

    def get(self, n):
        if not self.left:
            return []
        self.left -= 1
        return list(range(n))


def producing(producer):
    def produce(queue):
        while 1:
            items = producer.get(3)
            if not items:
                queue.put(None)
                break
            queue.put(str(items))
    return produce


@app.route("/r/threaproducer")
def threaproducer(was):
    return was.Queue(producing(Producer()))


@app.route("/robots.txt")
def robots(was):
    if was.request.args.get("debug"):
        was.response["Content-Type"] = "text/plain"
        return "User-Agent: *\nDisallow: /\n"
    return was.Static("/robots.real.txt")


@app.route("/r/localfile/<filename>")
def localfile(was, filename):
    return was.File("data/%s" % filename)


@app.route("/r/jstream", methods=["POST"])
def r_jstream(was):
    args = was.request.json()
    return was.jstream({"got": args})


@app.route("/r/jstream_key")
def r_jstream_key(was):
    return was.jstream([1, 2], "data")


@app.route("/r/promise")
def r_promise(was):
    was.response.hint_promise("/r/bytes")
    return "promised"


@app.route("/r/throw_msg")
def r_throw_msg(was):
    was.response.throw("409 Conflict", "already exists")


@app.route("/r/redirect")
def r_redirect(was):
    return was.redirect("/r/bytes")


# ---- API
@app.route("/api/fault200")
def api_f200(was):
    return was.Fault("200 OK", data=[1, 2, 3])


@app.route("/api/fault201")
def api_f201(was):
    return was.Fault("201 Accept")


@app.route("/api/api")
def api_api(was):
    return was.API(data=[1, 2, 3])


@app.route("/api/empty")
def api_empty(was):
    return was.API()


@app.route("/api/status")
def api_status(was):
    return was.API("201 Created", id=5)


@app.route("/api/fault400")
def api_f400(was):
    return was.Fault("400 Bad Request", "missing parameter", 10021)


@app.route("/api/fault400more")
def api_f400more(was):
    return was.Fault("400 Bad Request", "missing parameter", 10021,
                     "need parameter offset and limit", "http://127.0.0.1/moreinfo/10021")


@app.route("/api/traceback")
def api_tb(was):
    try:
        aa
    except Exception:
        return was.Fault(
            "500 Internal Server Error", "somethig is not valid", 10022, traceback=True
        )


@app.route("/api/resp_traceback")
def api_resp_tb(was):
    try:
        aa
    except Exception:
        return was.response.traceback()


@app.route("/api/dates")
def api_dates(was):
    return was.API(when=datetime.datetime(2030, 12, 24, 15, 9, tzinfo=datetime.timezone.utc))


@app.route("/api/crash")
def api_crash(was):
    raise RuntimeError("secret internals")


@app.route("/r/with_explain")
def r_with_explain(was):
    return was.response.with_explain("503 Service Unavailable", "Please Visit On Thurse Day")


# ---- URL building app
math = Atila("math")


@math.route("/add")
def add(was, num1, num2):
    return int(num1) + int(num2)


@math.route("/hello/<name>")
def mhello(was, name="Hans Roh"):
    return "Hello, %s" % name


@math.route("/navigate")
def navigate(was, limit=20, pageno=1):
    return was.API(
        urlfor=was.urlfor("navigate", was.request.args.limit, 3),
        urlpatch=was.urlpatch("navigate", pageno=3),
    )


@math.route("/user/<id>")
def user(was, id):
    return ""


@math.route("/user/<id>/pat")
def user_pat(was, id):
    return ""


@math.route("/urls")
def urls(was):
    return was.API(
        a=math.build_url("add", 10, 40),
        b=was.urlfor("add", 10, 40),
        c=was.urlfor("add", 10, num2=60),
        d=was.urlfor(add, 10, 40),
        e=was.urlfor("mhello", "Your Name"),
        f=was.basepath("navigate"),
        g=was.basepath("user"),
        h=was.basepath("user_pat"),
    )


# ---- sub mounts
sub = Atila("sub")


@sub.route("")
def sub_index(was):
    return "sub"


slash = Atila("slash")


@slash.route("/")
def slash_index(was):
    return "slash"


rootid = Atila("rootid")


@rootid.route("/<int:id>", methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"])
def rootid_episode(was, id=None):
    return was.API(id=id)


# ---- hooks
hooks = Atila("hooks")


def _ev(name):
    hooks.r.events = getattr(hooks.r, "events", []) + [name]


@hooks.before_request
def before_request(was):
    _ev("before")
    if was.request.args.get("block"):
        return "Not Authorized"


@hooks.finish_request
def finish_request(was):
    _ev("finish")


@hooks.failed_request
def failed_request(was, exc_info):
    _ev("failed:" + exc_info[0].__name__)
    if was.request.args.get("handle"):
        return was.response("501 Server Error", "We're sorry but something's going wrong")


@hooks.teardown_request
def teardown_request(was):
    _ev("teardown")
    hooks.g["last"] = list(hooks.r.events)


@hooks.route("/view-account")
def view_account(was, **kw):
    hooks.r.user_id = "jerry"
    _ev("view")
    return "view"


@hooks.route("/fail")
def fail(was, **kw):
    _ev("view")
    raise ValueError("boom")


@hooks.route("/httperr")
def httperr(was, **kw):
    _ev("view")
    raise was.Error("403 Forbidden", "nope")


@hooks.route("/last")
def last(was):
    return was.API(last=hooks.g.get("last"), leftover=getattr(hooks.r, "user_id", None))


def pre1(was):
    _ev("pre1")


def pre2(was):
    _ev("pre2")
    if was.request.args.get("stop"):
        return "stopped by pre2"


def post1(was):
    _ev("post1")
    return "ignored"


@hooks.route("/auto")
@hooks.run_before(pre1, pre2)
@hooks.run_after(post1)
def auto(was, **kw):
    _ev("view")
    return "auto"


def reload_config(was, path):
    hooks.store.set("reloads", hooks.store.get("reloads", 0) + 1)


@hooks.route("/conf")
@hooks.if_file_modified("conf.txt", reload_config, interval=0.05)
def conf(was):
    return str(hooks.store.get("reloads", 0))


@hooks.route("/store")
def store(was):
    total = hooks.store.get("total-user", 0)
    hooks.store.set("total-user", total + 1)
    return str(hooks.store.get("total-user"))


@hooks.route("/log")
def log(was):
    was.log("called index", "info")
    try:
        raise ValueError("x")
    except Exception:
        was.log("exception occured", "error")
        tid = was.traceback()
    return was.API(id=tid)


# ---- errors
errs = Atila("errs")


@errs.default_error_handler
def default_error_handler(was, error):
    return "<h1>{code} {message}</h1><p>{detail}</p>".format(**error)


@errs.error_handler(404)
def not_found(was, error):
    return "<h1>NF {code} {message}</h1>".format(**error)


@errs.route("/explain")
def explain(was):
    return was.response.with_explain("503 Service Unavailable", "Please Visit On Thurse Day")


@errs.route("/bodyless")
def bodyless(was):
    return was.response("404 Not Found")


@errs.route("/thrown")
def thrown(was):
    was.response.throw("410 Gone", "went away")


@errs.route("/keys")
def keys(was):
    raise was.Error("409 Conflict", "keys")


@errs.error_handler(409)
def conflict(was, error):
    return was.API(keys=sorted(error), code=error["code"], message=error["message"],
                   mode=error["mode"], detail=error["detail"])


howto = Atila("howto")


@howto.default_error_handler
def howto_error_handler(was, error):
    code = error["errno"] or str(error["code"]) + "00"
    return was.Fault(error["message"].lower(), code, None, error["detail"],
                     exc_info=error["traceback"])


@howto.route("/missing")
def howto_missing(was):
    raise was.Error("404 Not Found", "no such thing")


# ---- CORS
cors = Atila("cors")
cors.access_control_allow_origin = ["http://www.skitai.com:5001"]
cors.access_control_max_age = 3600


@cors.route("/post", methods=["POST", "OPTIONS"])
def cors_post(was):
    args = was.request.json()
    return was.API(args)


cors3 = Atila("cors3")
cors3.access_control_allow_origin = ["*"]


@cors3.route("/post", methods=["POST", "OPTIONS"])
def cors3_post(was):
    return was.jstream({"ok": True})


cors2 = Atila("cors2")


@cors2.route("/post", methods=["POST", "OPTIONS"],
             access_control_allow_origin=["http://www.skitai.com:5001"],
             access_control_max_age=3600)
def cors2_post(was):
    return was.API(was.request.json())


@cors2.route("/other", methods=["POST", "OPTIONS"])
def cors2_other(was):
    return "other"


# ---- expose_spec
apis = Atila("services.v1.apis")
apis.expose_spec = True


@apis.route("/isitok/<code>/<type>", methods=["GET", "POST", "PATCH", "OPTIONS"])
def isitok(was, code, type):
    return was.API(result="ok")


# ---- XML-RPC
rpc = Atila("rpc")


@rpc.route("/add")
def rpc_add(was, num1, num2):
    return num1 + num2


@rpc.route("/info")
def rpc_info(was):
    return {"a": [1, 2], "ok": True}


# ---- JSON encoders / pretty
encoders = {}
for fmt in ("utcoffset", "str", "iso", "unixepoch", "digit"):
    enc = Atila("enc_" + fmt)
    enc.config.JSON_ENCODER = fmt

    @enc.route("/")
    def when(was):
        return was.API(when=datetime.datetime(2030, 12, 24, 15, 9, tzinfo=datetime.timezone.utc))

    encoders[fmt] = enc

pretty = Atila("pretty")
pretty.config.PRETTY_JSON = True


@pretty.route("/")
def pretty_index(was):
    return was.API(a=1)


if __name__ == "__main__":
    with skitai.preference() as pref:
        pref.config.ROOTPREF = "yes"
        skitai.mount("/", "./static")
        skitai.mount("/", app, "app", pref)
    skitai.mount("/math", math)
    skitai.mount("/sub", sub)
    skitai.mount("/slash", slash)
    skitai.mount("/rootid", rootid)
    skitai.mount("/hooks", hooks)
    skitai.mount("/errs", errs)
    skitai.mount("/howto", howto)
    skitai.mount("/cors", cors)
    skitai.mount("/cors2", cors2)
    skitai.mount("/cors3", cors3)
    skitai.mount("/v1/apis", apis)
    skitai.mount("/rpc", rpc)
    for fmt, enc in encoders.items():
        skitai.mount("/enc/" + fmt, enc)
    skitai.mount("/pretty", pretty)
    from myapp import wsgi
    with skitai.preference() as pref:
        pref.set_static("/wstatic", "static")
        skitai.mount("/wsgi", wsgi, pref)
    with skitai.preference() as pref:
        pref.use_reloader = False
        pref.debug = True
        pref.config["prefA"] = 1
        pref.config.prefB = 2
        pref.set_static("/pstatic", "static")
        pref.set_media("/pmedia", "media")
        skitai.mount("/v1", "app_v1/app.py", "app", pref)
    skitai.run()
"""

APP_V1 = r"""
import atila

app = atila.Atila(__name__)
app.config["prefA"] = 0


@app.route("/")
def index(was):
    c = app.config
    return was.API(prefA=c["prefA"], prefB=c.prefB, debug=app.debug,
                   STATIC_URL=c.STATIC_URL, STATIC_ROOT=c.STATIC_ROOT,
                   MEDIA_URL=c.MEDIA_URL, MEDIA_ROOT=c.MEDIA_ROOT)


@app.route("/crash")
def crash(was):
    raise ValueError("debug visible")


@app.route("/static-file")
def static_file(was):
    return was.Static("/pstatic/s.txt")
"""

FILES = {
    "app_v1/app.py": APP_V1,
    "static/robots.real.txt": "User-agent: *\n",
    "static/s.txt": "s\n",
    "media/m.txt": "m\n",
    "data/a.txt": "hello\n",
    "conf.txt": "v1\n",
    "myapp/__init__.py": "",
    "myapp/wsgi.py": """
        import atila

        app = atila.Atila(__name__)

        @app.route("/")
        def index(was):
            return "wsgi module " + app.config.STATIC_URL
    """,
    "templates/hello.htm": "hello id={{ was.request.PARAMS['id'] }}",
    "templates/index.html": "<p>result {{ result }}</p>",
}
PICNIC = bytes(range(256)) * 20
SERVER_TZ = "Asia/Seoul"


@pytest.fixture(scope="module")
def root_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's directory."""
    return tmp_path_factory.mktemp("spec_conformance")


@pytest.fixture(scope="module")
def live(root_dir: Path) -> Iterator[LiveClient]:
    """One server for the whole module (all the spec's examples mounted side by side)."""
    root = root_dir
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (root / "picnic.bin").write_bytes(PICNIC)
    script = root / "serve.py"
    script.write_text(SERVE)
    # a non-UTC zone, so that "str" (system time zone) differs from the UTC styles
    # all addresses, so that a non-loopback client can be tried for expose_spec
    client = test_client(str(script), devel=False, env={"TZ": SERVER_TZ}, args=("--ip", "0.0.0.0"))
    try:
        yield client
    finally:
        client.stop()


# ------------------------------------------------------------------ app, options, preference


def test_hello_world(live: LiveClient) -> None:
    response = live.get("/")
    assert response.status_code == 200
    assert response.text == "Hello, World"


def test_core_options_and_default_config(live: LiveClient) -> None:
    body = live.get("/config").json()
    assert body == {
        "MAX_UPLOAD_SIZE": 256 * 1024 * 1024,
        "MEDIA_URL": "/media/",
        "STATIC_URL": "/",
        "MINIFY_HTML": None,
        "JSON_ENCODER": "utcoffset",
        "PRETTY_JSON": False,
        "MYVALUE": 1,
        "debug": False,
        "use_reloader": False,
        "securekey": None,
        "session_timeout": None,
        "authenticate": None,
        "realm": None,
        "users": {},
        "enable_namespace": True,
        "access_control_allow_origin": None,
        "access_control_max_age": 0,
        "has_jinja_env": True,
        "build_url": "/config",
        "ROOTPREF": "yes",  # skitai.mount("/", app, "app", pref)
        "MAINTAIN_INTERVAL": 60,
    }


def test_runtime_preference_overrides_app_settings(live: LiveClient) -> None:
    # skitai.mount("/v1", "app_v1/app.py", "app", pref): pref.config["prefA"] and
    # pref.config.prefB, pref.debug, set_static/set_media.
    assert live.get("/v1/").json() == {
        "prefA": 1,
        "prefB": 2,
        "debug": True,
        "STATIC_URL": "/pstatic",
        "STATIC_ROOT": "static",
        "MEDIA_URL": "/pmedia",
        "MEDIA_ROOT": "media",
    }
    assert live.get("/pstatic/s.txt").text == "s\n"
    assert live.get("/pmedia/m.txt").text == "m\n"
    assert live.get("/v1/static-file").text == "s\n"  # was.Static under STATIC_URL


def test_debug_shows_errors_to_the_browser_and_to_json_clients(live: LiveClient) -> None:
    page = live.get("/v1/crash")
    assert page.status_code == 500
    assert "debug visible" in page.text
    api = live.get("/v1/crash", headers={"Accept": "application/json"})
    assert api.status_code == 500
    body = api.json()
    assert body["code"] == 500
    assert body["traceback"][0] == "debug visible"
    assert any("function crash" in line for line in body["traceback"])


def test_production_errors_never_show_the_traceback(live: LiveClient) -> None:
    page = live.get("/api/crash")
    assert page.status_code == 500
    assert "secret internals" not in page.text
    api = live.get("/api/crash", headers={"Accept": "application/json"})
    assert api.status_code == 500
    assert api.json() == {"code": 500, "message": "Internal Server Error"}


def test_app_r_is_per_request_and_app_g_is_global(live: LiveClient) -> None:
    first = live.get("/ctx/set").json()
    assert first["r"] == "jerry"
    later = live.get("/ctx/get").json()
    assert later["r"] is None  # app.r is gone after the request
    assert later["visits"] == first["visits"]
    assert later["dict_style"] == "yes"


def test_app_store_keeps_values_between_requests(live: LiveClient) -> None:
    first = int(live.get("/hooks/store").text)
    assert int(live.get("/hooks/store").text) == first + 1


# ------------------------------------------------------------------ routing


def test_methods_restriction_answers_405_with_allow(live: LiveClient) -> None:
    response = live.post("/hello", data="<a/>", headers={"Content-Type": "text/xml"})
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert "GET" in allowed and "POST" not in allowed


def test_content_types_restriction_answers_415(live: LiveClient) -> None:
    assert live.get("/hello", headers={"Content-Type": "text/xml"}).text == "xml hello"
    response = live.get("/hello", headers={"Content-Type": "application/json"})
    assert response.status_code == 415


def test_multiple_routes_on_one_function(live: LiveClient) -> None:
    assert live.post("/multi").text == "multi POST"
    assert live.get("/multi").status_code == 405
    assert live.get("/multi2").text == "multi GET"


def test_head_and_options_are_answered(live: LiveClient) -> None:
    head = live.head("/r/bytes")
    assert head.status_code == 200 and head.content == b""
    options = live.options("/hello")
    assert options.status_code == 204
    assert "GET" in options.headers["Allow"]


def test_empty_route_at_a_sub_mount(live: LiveClient) -> None:
    assert live.get("/sub").text == "sub"
    assert live.get("/sub/").status_code == 404


def test_slash_route_at_a_sub_mount_redirects(live: LiveClient) -> None:
    response = live.get("/slash", allow_redirects=False)
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/slash/")
    assert live.get("/slash?x=1", allow_redirects=False).headers["Location"].endswith("/slash/?x=1")
    assert live.get("/slash/").text == "slash"


def test_unroute_blocks_paths(live: LiveClient) -> None:
    assert live.get("/examples/one").status_code == 404


def test_int_parameter_with_me_notme_new(live: LiveClient) -> None:
    assert live.get("/episode/5").json() == {"id": 5, "type": "int"}
    for word in ("me", "notme", "new"):
        assert live.get(f"/episode/{word}").json() == {"id": word, "type": "str"}
    assert live.get("/episode/abc").status_code == 404
    assert live.get("/episode").status_code == 404


def test_url_parameter_returned_as_is(live: LiveClient) -> None:
    assert live.get("/episode0/100").text == "100"


def test_url_parameter_through_keyword_args(live: LiveClient) -> None:
    assert live.get("/episode2/100").text == "100"


def test_default_makes_trailing_parameter_optional(live: LiveClient) -> None:
    assert live.get("/episode3").json() == {"id": None, "a": "/episode3", "b": "/episode3/100"}
    assert live.get("/episode3/7").json()["id"] == 7
    assert live.post("/episode3").json() == {"id": 99}


def test_optional_parameter_does_not_serve_the_root(live: LiveClient) -> None:
    assert live.get("/rootid/5").json() == {"id": 5}
    assert live.get("/rootid/").status_code == 404


def test_path_parameter_takes_the_rest(live: LiveClient) -> None:
    assert live.get("/path/1/version/1.1/win32").json() == {
        "major_ver": 1,
        "path": "version/1.1/win32",
    }


def test_string_parameter_is_unquoted(live: LiveClient) -> None:
    assert live.get("/kind/a%20b").text == "a b"


# ------------------------------------------------------------------ request


def test_request_attributes(live: LiveClient) -> None:
    body = live.get(
        "/req?a=1&a=2&b=3",
        headers={"X-Custom": "v", "Accept": "text/html;q=0.9, application/json"},
    ).json()
    assert body["method"] == "GET" and body["command"] == "get"
    assert body["uri"] == "/req?a=1&a=2&b=3"
    assert body["version"] == "1.1" and body["scheme"] == "http"
    assert body["h_lower"] == body["h_upper"] == body["h_item"] == "v"
    assert body["args"] == {"a": ["1", "2"], "b": "3"}
    assert body["routed"] == "req"
    assert body["routable_methods"] == ["GET", "POST", "PUT"]
    assert {"methods", "content_types", "options", "mntopt"} <= set(body["routable_keys"])
    assert body["acceptables"]["text/html"] == {"q": "0.9"}
    assert "application/json" in body["acceptables"]
    assert body["acc_json"] is True and body["acc_html"] is True
    assert body["split_uri"] == ["/req", None, "?a=1&a=2&b=3", None]
    assert [name.lower() for name, _ in body["get_headers"]] == ["x-custom"]
    assert body["get_scheme"] == "http"
    assert body["remote"] == "127.0.0.1"
    assert body["ua"].startswith("python-requests/")


def test_request_body_and_content_type_helpers(live: LiveClient) -> None:
    body = live.post("/req?a=1", data={"c": "form"}, headers={"X-Custom": "v"}).json()
    assert body["method"] == "POST" and body["command"] == "post"
    assert body["body"] == "c=form" and body["get_body"] == "c=form"
    assert body["get_header"] == "application/x-www-form-urlencoded"
    assert body["ctype"] == "application/x-www-form-urlencoded"
    assert body["main"] == "application" and body["sub"] == "x-www-form-urlencoded"
    assert body["args"] == {"a": "1", "c": "form"}


def test_json_body_parameter_groups(live: LiveClient) -> None:
    body = live.post("/req/body?q=1", json={"j": 1}).json()
    assert body["json"] == {"j": 1} and body["dict"] == {"j": 1}
    assert body["JSON"] == {"j": 1} and body["DATA"] == {"j": 1} and body["FORM"] == {}
    assert body["URL"] == {"q": "1"}
    assert body["ARGS"] == {"q": "1", "j": 1}
    assert body["kw"] == {"q": "1", "j": 1}


def test_form_body_parameter_groups(live: LiveClient) -> None:
    body = live.post("/req/body?q=1", data={"f": "x"}).json()
    assert body["form"] == {"f": "x"} and body["dict"] == {"f": "x"}
    assert body["FORM"] == {"f": "x"} and body["DATA"] == {"f": "x"} and body["JSON"] == {}
    assert body["ARGS"] == {"q": "1", "f": "x"}


def test_default_url_params_and_args(live: LiveClient) -> None:
    body = live.get("/req/default/5?x=1").json()
    assert body["DEFAULT"] == {"limit": 10}
    assert body["PARAMS"] == {"id": 5}
    assert body["ARGS"] == {"id": 5, "x": "1", "limit": 10}  # ARGS includes DEFAULT
    assert live.get("/req/default/5?limit=3").json()["ARGS"]["limit"] == "3"


def test_args_merge_rules(live: LiveClient) -> None:
    # duplicated names become a list; form data wins over the query string
    merged = live.post("/merge?a=1&a=2&b=url", data={"b": "form"}).json()["args"]
    assert merged == {"a": ["1", "2"], "b": "form"}
    assert live.post("/merge?b=url", json={"b": "json"}).json()["args"] == {"b": "json"}


# ------------------------------------------------------------------ parameters


def test_query_string_parameters(live: LiveClient) -> None:
    assert live.get("/q1?num=100").text == "100"
    assert live.get("/q1").text == "8"
    # the handler without parameters reads ARGS and takes any parameter
    assert live.get("/q2?num=100&other=1").text == "100"
    assert live.get("/q3?num=100&other=1").text == "100 100"


def test_unexpected_parameter_is_a_400_naming_it(live: LiveClient) -> None:
    response = live.get("/q1?num=100&other=1")
    assert response.status_code == 400
    body = response.json()
    assert body["param"] == "other" and "other" in body["detail"]


def test_missing_parameter_is_a_400_naming_it(live: LiveClient) -> None:
    response = live.get("/episode4/100")
    assert response.status_code == 400
    assert response.json()["param"] == "topic"


def test_form_and_json_parameters(live: LiveClient) -> None:
    assert live.post("/post1", json={"userid": "hans", "comment": "hi"}).text == "Post hans hi"
    assert live.post("/post2", json={"userid": "hans", "comment": "hi"}).text == "Post hans hi"
    assert live.post("/post2", data={"userid": "hans", "comment": "hi"}).text == "Post hans hi"


def test_composed_parameters(live: LiveClient) -> None:
    assert live.get("/episode4/100?topic=Python").json() == {
        "id": 100,
        "topic": "Python",
        "comment": None,
    }
    posted = live.post("/episode4/100?topic=Python", json={"comment": "It is good idea"})
    assert posted.json() == {"id": 100, "topic": "Python", "comment": "It is good idea"}
    body = live.get("/episode5/100?topic=Python").json()
    assert body == {
        "id": 100,
        "topic": "Python",
        "karg": {"topic": "Python"},
        "args_topic": "Python",
    }


def test_make_your_own_rule_pets(live: LiveClient) -> None:
    response = live.post("/pets/dog?limit=10", json={"area": "LA"})
    assert response.json() == {"kind": "dog", "limit": "10", "offset": 0, "JSON": {"area": "LA"}}
    missing = live.post("/pets/dog?limit=10", json={"zone": "LA"})
    assert missing.status_code == 400 and missing.json()["param"] == "area"


# ------------------------------------------------------------------ @app.inspect


def _bad(response: requests.Response, param: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["param"] == param and param in body["detail"]
    assert body["message"] == "Bad Request"


def test_inspect_required_int(live: LiveClient) -> None:
    assert live.get("/test?id=5").json() == {"id": 5, "type": "int"}
    _bad(live.get("/test?id=x"), "id")
    _bad(live.get("/test"), "id")


def test_inspect_method_scopes(live: LiveClient) -> None:
    assert live.get("/insp1?offset=2&limit=5").json() == {"offset": 2, "limit": 5}
    assert live.get("/insp1").json() == {"offset": 0, "limit": 10}
    _bad(live.get("/insp1?limit=x"), "limit")
    assert live.put("/insp1", json={"id": 3}).json() == {"current": 3}
    _bad(live.put("/insp1", json={"x": 3}), "id")


def test_inspect_type_specs(live: LiveClient) -> None:
    body = live.get("/insp2/1?offset=3&prodtype=a").json()
    assert body == {"offset": 3, "otype": "int", "prodtype": "a"}
    _bad(live.get("/insp2/1?offset=x&prodtype=a"), "offset")


def test_inspect_operators(live: LiveClient) -> None:
    assert live.get("/insp3?a=5&b=-2&c=1").status_code == 200
    _bad(live.get("/insp3?a=4&b=-2&c=1"), "a")
    _bad(live.get("/insp3?a=5&b=0&c=1"), "b")
    _bad(live.get("/insp3?a=5&b=-2&c=3"), "c")


def test_inspect_regex_and_length(live: LiveClient) -> None:
    assert live.get("/insp4?a=hansroh").status_code == 200
    _bad(live.get("/insp4?a=roh"), "a")
    assert live.get("/insp5?a=abcde").status_code == 200
    _bad(live.get("/insp5?a=abc"), "a")


def test_inspect_json_nodes(live: LiveClient) -> None:
    assert live.post("/insp15", json={"data": {"scores": [9, 12, 16]}}).status_code == 200
    response = live.post("/insp15", json={"data": {"scores": [9, 8, 16]}})
    assert response.status_code == 400 and response.json()["param"] == "data"


def test_inspect_value_kinds(live: LiveClient) -> None:
    good = live.get(
        "/insp6?e=a@b.com&u=12345678-1234-5678-1234-567812345678&f=1.5&b=true&l=1&s=x&x=1"
    ).json()["kw"]
    assert good["f"] == 1.5 and good["b"] is True and good["l"] == ["1"]
    for query, param in (("e=nope", "e"), ("u=nope", "u"), ("f=nope", "f"), ("b=nope", "b")):
        _bad(live.get(f"/insp6?{query}&x=1"), param)
    assert live.get("/insp6?e=a@b.com").status_code == 400  # oneof x, y


def test_inspect_notags_and_safes(live: LiveClient) -> None:
    assert live.get("/insp7?t=<b>hi</b>").json()["t"] == "&lt;b&gt;hi&lt;/b&gt;"
    _bad(live.get("/insp7?s=<script>alert(1)</script>"), "s")


def test_me_notme_new_with_permissions(live: LiveClient) -> None:
    staff = {"x-role": "staff"}
    assert live.get("/episodes/me").text == "uid me"
    assert live.delete("/episodes/me").text == "uid me"
    assert live.get("/episodes/4").status_code == 403
    assert live.get("/episodes/4", headers=staff).text == "uid 4"
    assert live.patch("/episodes/4").status_code == 403
    assert live.get("/episodes/new").status_code == 403
    assert live.post("/episodes/new", headers=staff).text == "uid new"
    assert live.get("/episodes/notme").status_code == 403
    assert live.get("/episodes/notme", headers=staff).text == "uid notme"
    for method in ("DELETE", "POST", "PATCH", "PUT"):
        assert live.request(method, "/episodes/notme", headers=staff).status_code == 421


# ------------------------------------------------------------------ URL building


def test_urlfor_build_url_and_basepath(live: LiveClient) -> None:
    assert live.get("/math/urls").json() == {
        "a": "/math/add?num1=10&num2=40",
        "b": "/math/add?num1=10&num2=40",
        "c": "/math/add?num1=10&num2=60",
        "d": "/math/add?num1=10&num2=40",
        "e": "/math/hello/Your_Name",
        "f": "/math/navigate",
        "g": "/math/user/",
        "h": "/math/user/",
    }
    assert live.get("/math/add?num1=10&num2=40").text == "50"


def test_urlpatch_keeps_current_parameters(live: LiveClient) -> None:
    assert live.get("/math/navigate?limit=100&pageno=2").json() == {
        "urlfor": "/math/navigate?limit=100&pageno=3",
        "urlpatch": "/math/navigate?limit=100&pageno=3",
    }


# ------------------------------------------------------------------ responses


@pytest.mark.parametrize("path", ["/r/headers1", "/r/headers2", "/r/headers3"])
def test_three_ways_to_set_headers(live: LiveClient, path: str) -> None:
    response = live.get(path)
    assert response.status_code == 200
    assert response.text == "page"
    assert response.headers["Cache-Control"] == "max-age=60"


def test_status_with_and_without_body(live: LiveClient) -> None:
    with_body = live.get("/r/404body")
    assert with_body.status_code == 404 and with_body.text == "my 404 page"
    generated = live.get("/r/404")
    assert generated.status_code == 404 and generated.json()["message"] == "Not Found"
    page = live.get("/r/404", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "404 Not Found" in page.text


def test_exc_info_sends_the_traceback_even_without_debug(live: LiveClient) -> None:
    response = live.get("/r/exc")
    assert response.status_code == 500
    assert "Test Error" in response.text and "r_exc" in response.text


def test_file_object_body(live: LiveClient) -> None:
    response = live.get("/r/file")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.content == PICNIC


def test_generator_body(live: LiveClient) -> None:
    response = live.get("/r/csv")
    assert response.headers["Content-Type"] == "text/csv"
    assert response.text == "a,b\nc,d\n"
    stream = live.get("/r/stream")
    assert stream.headers["Content-Type"] == "text/plain"
    assert stream.text == "<CHUNK>" * 100


def test_every_return_type_and_close(live: LiveClient) -> None:
    assert live.get("/r/iter").text == "i1i2i3"
    assert live.get("/r/more").text == "m1m2"
    assert live.get("/r/reader").text == "readable-data"
    assert live.get("/r/list").text == "sbm1m2readable-data"
    assert live.get("/r/tuple").text == "ab"
    assert live.get("/r/bytes").content == b"raw bytes"
    closed = live.get("/r/closed").text.split(",")
    assert {"iter", "more", "reader"} <= set(closed)


def test_throw_aborts_with_the_status(live: LiveClient) -> None:
    assert live.get("/r/throw").status_code == 403
    thrown = live.get("/r/throw_msg")
    assert thrown.status_code == 409 and "already exists" in thrown.text


def test_status_and_header_methods(live: LiveClient) -> None:
    response = live.get("/r/status")
    assert response.status_code == 202
    assert response.headers["X-A"] == "1" and response.headers["X-C"] == "3"
    assert "X-B" not in response.headers
    body = response.json()
    assert body["status"] == "202 Accepted" and body["xa"] == "1" and body["xb"] is None
    assert ["X-A", "1"] in body["headers"] and ["X-C", "3"] in body["headers"]


def test_response_item_assignment_sets_a_header(live: LiveClient) -> None:
    response = live.get("/r/setitem")
    assert response.headers["Content-Type"] == "text/plain"
    assert response.text == "User-Agent: *\nDisallow: /\n"


def test_hint_promise_is_ignored_on_http11(live: LiveClient) -> None:
    assert live.get("/r/promise").text == "promised"


def test_set_etag_and_304(live: LiveClient) -> None:
    response = live.get("/r/etag")
    assert response.text == "etagged"
    assert response.headers["Cache-Control"] == "max-age=300"
    etag = response.headers["ETag"]
    again = live.get("/r/etag", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_set_mtime_and_304(live: LiveClient) -> None:
    response = live.get("/r/mtime")
    assert response.headers["Last-Modified"] == "Sun, 13 Sep 2020 12:26:40 GMT"
    assert response.headers["Cache-Control"] == "max-age=60"
    again = live.get("/r/mtime", headers={"If-Modified-Since": response.headers["Last-Modified"]})
    assert again.status_code == 304


def test_set_etag_mtime(live: LiveClient) -> None:
    response = live.get("/r/etag_mtime")
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    assert response.headers["Cache-Control"] == "max-age=10"
    again = live.get("/r/etag_mtime", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_raise_was_error(live: LiveClient) -> None:
    response = live.get("/r/notfound/nofile.txt")
    assert response.status_code == 404
    assert "nofile.txt not exists" in response.text


def test_assert_with_was_error(live: LiveClient) -> None:
    response = live.get("/r/png/x.txt")
    assert response.status_code == 400
    assert response.reason == "Not My Fault"
    assert "filename must be end with png" in response.text


def test_threaded_queue_streaming(live: LiveClient) -> None:
    assert live.get("/r/threaproducer").text == "[0, 1, 2]" * 3


def test_static_redirect_handles_etag_and_range(live: LiveClient) -> None:
    # skitai.mount("/", "./static") beside the app, as in the spec's "Simple App"
    assert live.get("/s.txt").text == "s\n"  # what the app does not route falls through
    response = live.get("/robots.txt")
    assert response.status_code == 200 and response.text == "User-agent: *\n"
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    cached = live.get("/robots.txt", headers={"If-None-Match": response.headers["ETag"]})
    assert cached.status_code == 304
    ranged = live.get("/robots.txt", headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.text == "User"
    debug = live.get("/robots.txt?debug=1")
    assert debug.headers["Content-Type"] == "text/plain"


def test_local_file(live: LiveClient) -> None:
    response = live.get("/r/localfile/a.txt")
    assert response.text == "hello\n"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert live.get("/r/localfile/nothing.txt").status_code == 404


def test_redirect(live: LiveClient) -> None:
    response = live.get("/r/redirect", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/r/bytes"


def test_jstream(live: LiveClient) -> None:
    response = live.post("/r/jstream", json={"a": 1})
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"got": {"a": 1}}
    assert live.get("/r/jstream_key").json() == {"data": [1, 2]}


# ------------------------------------------------------------------ API responses


def test_api_and_fault_shapes(live: LiveClient) -> None:
    cases = {
        "/api/fault200": (200, {"data": [1, 2, 3]}),
        "/api/fault201": (201, {}),
        "/api/api": (200, {"data": [1, 2, 3]}),
        "/api/empty": (200, {}),
        "/api/status": (201, {"id": 5}),
        "/api/fault400": (400, {"message": "missing parameter", "code": 10021}),
        "/api/fault400more": (
            400,
            {
                "message": "missing parameter",
                "code": 10021,
                "debug": "need parameter offset and limit",
                "more_info": "http://127.0.0.1/moreinfo/10021",
            },
        ),
    }
    for path, (status, body) in cases.items():
        response = live.get(path)
        assert (response.status_code, response.json()) == (status, body), path
        assert response.headers["Content-Type"] == "application/json"


def test_fault_with_traceback(live: LiveClient) -> None:
    response = live.get("/api/traceback")
    assert response.status_code == 500  # the status given (see docs/atila-core.md)
    body = response.json()
    assert body["code"] == 10022 and body["message"] == "somethig is not valid"
    assert body["debug"] == "see traceback"
    assert body["traceback"][0] == "name 'aa' is not defined"
    assert body["traceback"][-1].startswith("in file ")
    assert "function api_tb" in body["traceback"][-1]


def test_response_traceback(live: LiveClient) -> None:
    body = live.get("/api/resp_traceback").json()
    assert body["code"] == 10001 and body["debug"] == "see traceback"
    assert body["traceback"][0] == "name 'aa' is not defined"


# ------------------------------------------------------------------ JSON encoders


def test_json_encoders(live: LiveClient) -> None:
    when = datetime.datetime(2030, 12, 24, 15, 9, tzinfo=datetime.UTC)
    expected = {
        "utcoffset": "2030-12-24 15:09:00+00",
        "str": "2030-12-25 00:09:00",  # the server's system time zone, Asia/Seoul
        "iso": "2030-12-24T15:09:00",
        "unixepoch": when.timestamp(),
        "digit": "20301224150900",
    }
    for fmt, value in expected.items():
        assert live.get(f"/enc/{fmt}/").json() == {"when": value}, fmt
    assert live.get("/api/dates").json() == {"when": "2030-12-24 15:09:00+00"}


def test_pretty_json(live: LiveClient) -> None:
    assert live.get("/pretty/").text.strip() == '{\n  "a": 1\n}'
    assert live.get("/api/empty").text == "{}"


# ------------------------------------------------------------------ hooks and autoruns


def _last(live: LiveClient) -> list[str]:
    # teardown may finish just after the previous response reached us
    for _ in range(50):
        last = live.get("/hooks/last").json()["last"]
        if last and last[-1] == "teardown":
            return list(last)
        time.sleep(0.02)
    return list(last)


def test_hooks_order_on_success(live: LiveClient) -> None:
    assert live.get("/hooks/view-account").text == "view"
    assert _last(live) == ["before", "view", "finish", "teardown"]
    assert live.get("/hooks/last").json()["leftover"] is None


def test_before_request_content_aborts(live: LiveClient) -> None:
    assert live.get("/hooks/view-account?block=1").text == "Not Authorized"
    assert _last(live) == ["before", "teardown"]


def test_failed_request_on_exception(live: LiveClient) -> None:
    assert live.get("/hooks/fail").status_code == 500
    assert _last(live) == ["before", "view", "failed:ValueError", "teardown"]
    handled = live.get("/hooks/fail?handle=1")
    assert handled.status_code == 501
    assert handled.text == "We're sorry but something's going wrong"


def test_run_before_and_run_after(live: LiveClient) -> None:
    assert live.get("/hooks/auto").text == "auto"  # run_after's return is ignored
    assert _last(live) == ["before", "pre1", "pre2", "view", "post1", "finish", "teardown"]
    assert live.get("/hooks/auto?stop=1").text == "stopped by pre2"
    assert _last(live) == ["before", "pre1", "pre2", "finish", "teardown"]


def test_log_and_traceback(live: LiveClient) -> None:
    ident = live.get("/hooks/log").json()["id"]
    assert isinstance(ident, str) and ident


# ------------------------------------------------------------------ custom error handling


def test_error_handlers(live: LiveClient) -> None:
    missing = live.get("/errs/nothing")
    assert missing.status_code == 404
    assert missing.text == "<h1>NF 404 Not Found</h1>"
    explained = live.get("/errs/explain")
    assert explained.status_code == 503
    assert explained.text == "<h1>503 Service Unavailable</h1><p>Please Visit On Thurse Day</p>"
    assert "Please Visit On Thurse Day" in live.get("/r/with_explain").text


def test_error_handlers_make_bodyless_and_thrown_errors(live: LiveClient) -> None:
    bodyless = live.get("/errs/bodyless")
    assert bodyless.status_code == 404
    assert bodyless.text == "<h1>NF 404 Not Found</h1>"
    thrown = live.get("/errs/thrown")
    assert thrown.status_code == 410
    # message is the reason phrase, throw's (and was.Error's) text the detail
    assert thrown.text == "<h1>410 Gone</h1><p>went away</p>"


def test_error_dict_keys(live: LiveClient) -> None:
    response = live.get("/errs/keys")
    assert response.status_code == 409
    body = response.json()
    assert {
        "code",
        "message",
        "detail",
        "mode",
        "debug",
        "time",
        "url",
        "software",
        "traceback",
    } <= set(body["keys"])
    assert body["code"] == 409 and body["message"] == "Conflict" and body["mode"] == "normal"
    assert body["detail"] == "keys"


def test_how_to_respond_all_errors_as_json(live: LiveClient) -> None:
    response = live.get("/howto/missing")
    assert response.status_code == 404
    # the spec's handler passes detail as was.Fault's fourth argument, more_info
    assert response.json() == {
        "message": "not found",
        "code": "40400",
        "more_info": "no such thing",
    }
    unrouted = live.get("/howto/nothing")
    assert unrouted.status_code == 404
    assert unrouted.json() == {"message": "not found", "code": "40400"}


# ------------------------------------------------------------------ CORS


def test_cors_preflight_app_level(live: LiveClient) -> None:
    origin = "http://www.skitai.com:5001"
    preflight = live.options(
        "/cors/post", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert preflight.headers["Access-Control-Max-Age"] == "3600"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    refused = live.options(
        "/cors/post",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in refused.headers
    posted = live.post("/cors/post", json={"a": 1}, headers={"Origin": origin})
    assert posted.json() == {"a": 1}
    assert posted.headers["Access-Control-Allow-Origin"] == origin


def test_cors_preflight_route_level(live: LiveClient) -> None:
    origin = "http://www.skitai.com:5001"
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    preflight = live.options("/cors2/post", headers=headers)
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert preflight.headers["Access-Control-Max-Age"] == "3600"
    other = live.options("/cors2/other", headers=headers)
    assert "Access-Control-Allow-Origin" not in other.headers
    posted = live.post("/cors2/post", json={"b": 2}, headers={"Origin": origin})
    assert posted.json() == {"b": 2}
    assert posted.headers["Access-Control-Allow-Origin"] == origin


# ------------------------------------------------------------------ expose_spec, XML-RPC


def test_expose_spec_to_loopback(live: LiveClient) -> None:
    body = live.get("/v1/apis/isitok/a/b").json()
    assert body["result"] == "ok"
    assert body["__spec__"] == {
        "id": "isitok",
        "routeopt": {
            "methods": ["GET", "POST", "PATCH", "OPTIONS"],
            "route": "/isitok/<code>/<type>",
            "args": ["code", "type"],
            "keywords": None,
            "urlargs": 2,
            "mntopt": {"module_name": "services.v1.apis", "point": "/v1/apis"},
        },
        "auth_requirements": [],
        "parameter_requirements": {},
        "doc": None,
        "current_request": {
            "http_method": "GET",
            "http_version": "1.1",
            "uri": "/v1/apis/isitok/a/b",
        },
    }


def test_xmlrpc_through_server_proxy(live: LiveClient) -> None:
    with xmlrpc.client.ServerProxy(live.base_url + "/rpc") as stub:
        assert stub.add(10000, 5000) == 15000
        with pytest.raises(xmlrpc.client.Fault) as fault:
            stub.add(1)
    assert fault.value.faultCode == 400
    assert "num2" in fault.value.faultString
    with xmlrpc.client.ServerProxy(live.base_url + "/rpc") as stub:
        with pytest.raises(xmlrpc.client.Fault) as unknown:
            stub.nothing(1)
    assert unknown.value.faultCode == 404
    assert "nothing" in unknown.value.faultString


def test_compressed_streams_decode(live: LiveClient) -> None:
    # streamed bodies may be gzip-encoded for clients that accept it; decoded they are intact
    with live.get("/r/stream", headers={"Accept-Encoding": "gzip"}, stream=True) as raw:
        data = raw.raw.read()
        encoding = raw.headers.get("Content-Encoding")
    if encoding == "gzip":
        data = gzip.decompress(data)
    assert data == b"<CHUNK>" * 100


def test_xmlrpc_dumpable_return_values(live: LiveClient) -> None:
    with xmlrpc.client.ServerProxy(live.base_url + "/rpc") as stub:
        assert stub.info() == {"a": [1, 2], "ok": True}


# ------------------------------------------------------------------ templates, proxy, misc


def test_render_sees_url_params(live: LiveClient) -> None:
    assert live.get("/render/7").text == "hello id=7"


def test_render_or_api_by_accept_header(live: LiveClient) -> None:
    html = live.get("/roa", headers={"Accept": "text/html"})
    assert html.text == "<p>result R</p>"
    api = live.get("/roa", headers={"Accept": "application/json"})
    assert api.json() == {"result": "R"}


def test_handler_without_was_uses_the_was_proxy(live: LiveClient) -> None:
    body = live.get("/sum").json()
    assert body["uri"] == "/sum" and body["id"]


def test_api_205_has_no_body(live: LiveClient) -> None:
    response = live.delete("/api/205")
    assert response.status_code == 205 and response.content == b""


def test_if_file_modified_runs_the_prework(live: LiveClient, root_dir: Path) -> None:
    before = int(live.get("/hooks/conf").text)
    conf = root_dir / "conf.txt"
    later = time.time() + 100
    os.utime(conf, (later, later))
    time.sleep(0.1)
    assert int(live.get("/hooks/conf").text) == before + 1
    time.sleep(0.1)
    assert int(live.get("/hooks/conf").text) == before + 1  # once per change


def test_close_is_called_when_the_client_disconnects(live: LiveClient) -> None:
    with live.get("/r/endless", stream=True) as response:
        assert response.status_code == 200
        next(response.iter_content(1024))
    for _ in range(100):
        if "endless" in live.get("/r/closed").text:
            break
        time.sleep(0.05)
    assert "endless" in live.get("/r/closed").text


def test_set_etag_as_etag_sends_the_identifier(live: LiveClient) -> None:
    response = live.get("/r/etag_raw")
    assert response.headers["ETag"] == '"raw-v1"'
    assert live.get("/r/etag_raw", headers={"If-None-Match": '"raw-v1"'}).status_code == 304


def test_acceptable_is_false_for_media_not_accepted(live: LiveClient) -> None:
    body = live.get("/req", headers={"X-Custom": "v", "Accept": "application/json"}).json()
    assert body["acc_json"] is True and body["acc_html"] is False
    assert body["acceptables"] == {"application/json": {}}


def test_cors_any_origin(live: LiveClient) -> None:
    headers = {"Origin": "http://anywhere.example", "Access-Control-Request-Method": "POST"}
    preflight = live.options("/cors3/post", headers=headers)
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    posted = live.post("/cors3/post", json={}, headers={"Origin": "http://anywhere.example"})
    assert posted.json() == {"ok": True}
    assert posted.headers["Access-Control-Allow-Origin"] == "*"


def test_mount_a_module_holding_the_app(live: LiveClient) -> None:
    # from myapp import wsgi; pref.set_static(...); skitai.mount("/wsgi", wsgi, pref)
    assert live.get("/wsgi/").text == "wsgi module /wstatic"
    assert live.get("/wstatic/s.txt").text == "s\n"


def _output_with(live: LiveClient, *needles: str) -> str:
    assert live.server is not None
    output = ""
    for _ in range(50):
        output = live.server.output_tail(1 << 20)
        if all(needle in output for needle in needles):
            break
        time.sleep(0.05)
    return output


def test_was_log_traceback_and_unhandled_exceptions_are_logged(live: LiveClient) -> None:
    ident = live.get("/sum").json()["id"]
    output = _output_with(live, f"[{ident}] traceback", "done index")
    assert "called index" in output and "exception occured" in output
    assert f"[{ident}] traceback" in output and "ValueError: x" in output
    live.get("/api/crash")
    output = _output_with(live, "RuntimeError: secret internals")
    assert "unhandled exception in GET /api/crash" in output
    assert "RuntimeError: secret internals" in output


def test_request_version_of_an_http10_request(live: LiveClient) -> None:
    assert live.port is not None
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        sock.sendall(b"GET /req HTTP/1.0\r\nHost: x\r\nX-Custom: v\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0] + b" "
    assert json.loads(body)["version"] == "1.0"


def _non_loopback_address() -> str | None:
    """This machine's outbound IPv4 address (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_expose_spec_is_not_shown_to_other_addresses(live: LiveClient) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    response = requests.get(f"http://{address}:{live.port}/v1/apis/isitok/a/b", timeout=10)
    assert response.json() == {"result": "ok"}


def test_failed_request_sees_http_errors_too(live: LiveClient) -> None:
    response = live.get("/hooks/httperr")
    assert response.status_code == 403
    assert _last(live) == ["before", "view", "failed:HTTPError", "teardown"]
