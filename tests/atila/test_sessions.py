"""Cookie sessions and the message box: through a real server, and the expiry rules with
a controlled clock."""

# ruff: noqa: F401, F811 - live, browser, server_dir are pytest fixtures from secure_server

from __future__ import annotations

import pytest
from secure_server import SECUREKEY, browser, live, server_dir

import atila
from atila.cookieboxes import BoxContext
from atila.mbox import Messages
from atila.sealing import seal, unseal
from atila.sessions import Session
from skitai.testing import Client, LiveClient, build_environ


def _set_cookies(response: object) -> list[str]:
    return list(response.raw.headers.getlist("Set-Cookie"))  # type: ignore[attr-defined]


# -- through the server ---------------------------------------------------------------


def test_session_round_trip_and_cookie_attributes(browser: LiveClient) -> None:
    response = browser.get("/session/set", params={"key": "user_id", "value": "hansroh"})
    assert response.json() == {"keys": ["user_id"]}
    (cookie,) = _set_cookies(response)
    assert cookie.startswith("ATLSES=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=6"):
        assert attribute in cookie
    got = browser.get("/session/get", params={"key": "user_id"})
    assert got.json()["value"] == "hansroh" and got.json()["exists"] is True
    assert got.json()["verified"] is True and got.json()["getv"] == "hansroh"
    assert _set_cookies(got) == []  # reading never extends (nor rewrites) the session


def test_expire_deletes_the_session(browser: LiveClient) -> None:
    browser.get("/session/set", params={"key": "k", "value": "v"})
    response = browser.get("/session/expire")
    assert any(c.startswith("ATLSES=;") and "Max-Age=0" in c for c in _set_cookies(response))
    assert browser.get("/session/get", params={"key": "k"}).json()["value"] is None


def test_a_copy_of_an_expired_session_is_refused(browser: LiveClient) -> None:
    """Logging out ends every copy of the session's cookie, not only the browser's."""
    response = browser.get("/session/set", params={"key": "user", "value": "hansroh"})
    copy = _set_cookies(response)[0].split(";")[0]
    browser.get("/session/set", params={"key": "more", "value": "1"})  # a newer cookie
    browser.get("/session/expire")
    stolen = browser.get("/session/get", params={"key": "user"}, headers={"Cookie": copy})
    assert stolen.json()["value"] is None and stolen.json()["exists"] is False
    fresh = browser.get("/session/set", params={"key": "user", "value": "again"})
    assert fresh.json() == {"keys": ["user"]}  # a new session starts as before


def test_named_session_has_its_own_cookie_and_path(browser: LiveClient) -> None:
    response = browser.get("/admin/login")
    (cookie,) = _set_cookies(response)
    assert cookie.startswith("ATLSES_ADM=") and "Path=/admin" in cookie and "Max-Age=3" in cookie
    checked = browser.get("/admin/check").json()
    assert checked == {"admin": True, "default": False, "adm": True}
    assert browser.get("/session/get", params={"key": "admin_login"}).json()["value"] is None


def test_message_box_flash_and_kept_messages(browser: LiveClient) -> None:
    shown = browser.get("/msg/send")  # redirected to /msg/show
    messages = shown.json()["messages"]
    assert [(m[1], m[3], m[4], m[5]) for m in messages] == [
        ("flash", 0, "flash message", {}),
        ("alarm", 60, "kept 60s", {"icon": "bell"}),
    ]
    again = browser.get("/msg/show").json()["messages"]
    assert [m[1] for m in again] == ["alarm"]  # the flash was consumed, the alarm stays
    assert browser.get("/msg/show", params={"category": "flash"}).json()["messages"] == []


def test_messages_survive_a_failed_request(browser: LiveClient) -> None:
    browser.get("/msg/send", allow_redirects=False)
    assert browser.get("/msg/fail").status_code == 500
    assert [m[1] for m in browser.get("/msg/show").json()["messages"]] == ["flash", "alarm"]


# -- expiry rules with a controlled clock ---------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _ctx(clock: Clock, cookies: dict[str, str] | None = None, addr: str = "10.0.0.1") -> BoxContext:
    return BoxContext(cookies or {}, addr, SECUREKEY, 100, clock)


def _reload(session: Session, clock: Clock, addr: str = "10.0.0.1") -> Session:
    header = session.set_cookie()
    assert header is not None
    value = header.split(";", 1)[0].partition("=")[2]
    return Session(None, _ctx(clock, {"ATLSES": value}, addr))


def test_setting_extends_getting_does_not() -> None:
    clock = Clock()
    session = Session(None, _ctx(clock))
    session.set("a", 1)
    assert session.expires() == clock.now + 100
    clock.now += 50
    session = _reload(session, clock)
    assert session.get("a") == 1 and session.expires() == clock.now + 50
    assert session.set_cookie() is None  # a read leaves the cookie alone
    session["b"] = 2
    assert session.expires() == clock.now + 100


def test_set_expiry_suspends_auto_extension_until_shorter() -> None:
    clock = Clock()
    session = Session(None, _ctx(clock))
    session.set("a", 1)
    session.set_expiry(1000)
    clock.now += 10
    session.set("b", 2)
    assert session.expires() == clock.now - 10 + 1000  # not shortened to now + 100
    clock.now += 950  # 40 s left: now + timeout is later, so auto-extension is back
    session.set("c", 3)
    assert session.expires() == clock.now + 100


def test_touch_impending_use_time_and_expiry() -> None:
    clock = Clock()
    session = Session(None, _ctx(clock))
    session.set("a", 1)
    assert not session.impending() and session.use_time() == 0
    clock.now += 85
    assert session.impending() and session.use_time() == 85
    session.touch()
    assert session.expires() == clock.now + 100 and not session.impending()
    clock.now += 101
    assert _reload(session, clock).get("a") is None  # expired


def test_no_extension_when_mounted_with_extend_false() -> None:
    clock = Clock()
    session = Session("X", _ctx(clock), extend=False)
    session.set("a", 1)
    first = session.expires()
    clock.now += 30
    session.set("b", 2)
    assert session.expires() == first


def test_source_verified_and_getv() -> None:
    clock = Clock()
    session = Session(None, _ctx(clock))
    session.set("a", 1)
    same = _reload(session, clock)
    assert same.source_verified() and same.getv("a") == 1
    other = _reload(session, clock, addr="10.9.9.9")
    assert not other.source_verified() and other.getv("a", "no") == "no"
    assert other.get("a") == 1


def test_dict_methods() -> None:
    session = Session(None, _ctx(Clock()))
    session.set("a", 1)
    session["b"] = [1, 2]
    assert session.has_key("a") and "b" in session and len(session) == 2
    assert sorted(session.keys()) == ["a", "b"] and dict(session.items())["b"] == [1, 2]
    session.remove("a")
    session.remove("missing")
    del session["b"]
    assert list(session.values()) == []
    with pytest.raises(TypeError):
        session.set("c", object())


def test_sealed_payload_is_bound_to_key_and_purpose() -> None:
    token = seal({"x": 1}, SECUREKEY, "ATLSES:")
    assert unseal(token, SECUREKEY, "ATLSES:") == {"x": 1}
    assert unseal(token, SECUREKEY + "x", "ATLSES:") is None
    assert unseal(token, SECUREKEY, "ATLSES:ADM") is None


def test_mbox_search_remove_and_expiry() -> None:
    clock = Clock()
    box = Messages(None, _ctx(clock))
    first = box.send("hello", "notice", 0, topic="news")
    second = box.send("world", "notice", 10)
    assert box.search("notice") == [first, second]
    assert box.search("topic", "news") == [first]
    assert [m[4] for m in box.get("topic", "news")] == ["hello"]
    box.remove(first)
    header = box.set_cookie()
    assert header is not None
    value = header.split(";", 1)[0].partition("=")[2]
    clock.now += 11
    reloaded = Messages(None, _ctx(clock, {"ATLMBX": value}))
    assert reloaded.get() == []  # the 10 s message is gone


# -- in-process: the app's settings ---------------------------------------------------


def test_session_without_securekey_is_a_500(app: atila.Atila) -> None:
    @app.route("/s")
    def s(was):  # type: ignore[no-untyped-def]
        was.session.set("a", 1)
        return "ok"

    assert Client(app).get("/s").status_code == 500


def _set_cookie_values(app: atila.Atila, path: str) -> list[str]:
    captured: list[tuple[str, str]] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: object = None
    ) -> None:
        captured.extend(headers)

    b"".join(app(build_environ("GET", path), start_response))
    return [v for k, v in captured if k.lower() == "set-cookie"]


def test_session_timeout_and_mount_options(app: atila.Atila) -> None:
    app.securekey = SECUREKEY
    app.session_timeout = 500

    @app.route("/s")
    def s(was):  # type: ignore[no-untyped-def]
        was.session.set("a", 1)
        was.session.mount("SEC", secure=True, http_only=False, domain="example.com")
        was.session.set("b", 2)
        was.mbox.mount("ADM", path="/adm").send("hi")
        return "ok"

    cookies = _set_cookie_values(app, "/s")
    default = next(c for c in cookies if c.startswith("ATLSES="))
    named = next(c for c in cookies if c.startswith("ATLSES_SEC="))
    mbox = next(c for c in cookies if c.startswith("ATLMBX_ADM="))
    assert "Max-Age=500" in default and "HttpOnly" in default and "SameSite=Lax" in default
    assert "Secure" in named and "HttpOnly" not in named and "Domain=example.com" in named
    assert "Path=/adm" in mbox
