"""CSRF tokens through a real server: cookie, form input, verification and removal."""

# ruff: noqa: F401, F811 - live, browser, server_dir are pytest fixtures from secure_server

from __future__ import annotations

import re

from secure_server import browser, live, server_dir

from skitai.testing import LiveClient


def test_token_input_and_cookie(browser: LiveClient) -> None:
    response = browser.get("/form")
    match = re.fullmatch(r'<input type="hidden" name="csrf_token" value="([A-Za-z0-9_-]+)">',
                         response.text)  # fmt: skip
    assert match
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("ATLCSRF=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert match.group(1) not in cookie
    # the token stays the same for this browser, and no new cookie is set
    again = browser.get("/form/token")
    assert again.text == match.group(1) and "Set-Cookie" not in again.headers


def test_token_input_in_an_autoescaped_template(browser: LiveClient) -> None:
    page = browser.get("/form/page").text
    token = browser.get("/form/token").text
    assert page == (
        f'<form method=post><input type="hidden" name="csrf_token" value="{token}">'
        "<input name=x></form>"
    )


def test_verification_by_field_header_and_decorator(browser: LiveClient) -> None:
    token = browser.get("/form/token").text
    assert browser.post("/form/check", data={"csrf_token": token}).json() == {"ok": True}
    assert browser.post("/form/check", json={"csrf_token": token}).json() == {"ok": True}
    assert browser.post("/form/check", headers={"X-CSRF-Token": token}).json() == {"ok": True}
    assert browser.post("/form/check", data={"csrf_token": token + "x"}).json() == {"ok": False}
    assert browser.post("/form/check", data={"a": "1"}).json() == {"ok": False}
    assert browser.post("/form/post", data={"csrf_token": token}).text == "accepted"
    assert browser.post("/form/post", data={"csrf_token": ""}).status_code == 400


def test_remove_csrf(browser: LiveClient) -> None:
    token = browser.get("/form/token").text
    removed = browser.get("/form/forget")
    assert removed.headers["Set-Cookie"].startswith("ATLCSRF=;")
    assert "ATLCSRF" not in browser.cookies
    assert browser.post("/form/post", data={"csrf_token": token}).status_code == 400
    assert browser.get("/form/token").text != token


def test_token_minted_in_this_request_does_not_verify(browser: LiveClient) -> None:
    # a fresh browser has no cookie yet: whatever token it sends cannot be checked
    assert browser.post("/form/check", data={"csrf_token": "anything"}).json() == {"ok": False}
