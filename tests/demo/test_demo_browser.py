"""A real browser (Playwright driving Debian's chromium): log into /admin, add a photo, see it on /.

Needs the ``playwright`` package (the ``dev`` extra) and ``/usr/bin/chromium``
(Debian package ``chromium``); Playwright's own browser download is not used.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from skitai.testing import LiveClient

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    required = os.environ.get("ATILA_STACK_REQUIRE_BROWSER") == "1"  # set by .ci/run
    if required:
        from playwright import sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        message = "chromium is not installed (Debian package 'chromium')"
        pytest.fail(message) if required else pytest.skip(message)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # No sandbox as root; no background traffic on a machine without a network.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.mark.slow
def test_admin_login_add_photo_and_see_it_on_the_front_page(demo: LiveClient, browser: Any) -> None:
    page = browser.new_page()
    page.set_default_timeout(15000)
    page.goto(demo.base_url + "/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", "admin")
    page.fill("#id_password", "atila-demo")
    page.click("input[type=submit]")
    page.wait_for_url(demo.base_url + "/admin/")
    page.goto(demo.base_url + "/admin/photos/photo/add/")
    page.select_option("#id_owner", label="admin")
    page.fill("#id_title", "Seen in a real browser")
    page.fill("#id_image_url", "https://example.com/browser.jpg")
    page.click("input[name=_save]")
    page.wait_for_url(demo.base_url + "/admin/photos/photo/")
    assert "Seen in a real browser" in page.content()

    page.goto(demo.base_url + "/")
    assert page.locator("#username").inner_text() == "admin"
    titles = page.locator("#photos li.photo a").all_inner_texts()
    assert "Seen in a real browser" in titles
    page.close()


def _try_out(page: Any, operation_id: str, body: str | None = None) -> tuple[str, Any]:
    """Open a Swagger UI operation, "Try it out" (with ``body``), Execute: status and JSON."""
    operation = page.locator(f"#operations-{operation_id}")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    if body is not None:
        operation.locator("textarea.body-param__text").fill(body)
    operation.locator("button.execute").click()
    answer = operation.locator(".live-responses-table tr.response").first
    status = answer.locator(".response-col_status").inner_text().strip()
    return status, json.loads(answer.locator(".response-col_description pre").first.inner_text())


@pytest.mark.slow
def test_openapi_page_try_it_out(demo: LiveClient, browser: Any) -> None:
    """/api/v1/docs (Swagger UI from the package, no CDN): get a token with "Try it out",
    authorize with it, then call GET /me."""
    page = browser.new_page()
    page.set_default_timeout(15000)
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(demo.base_url) else None,
    )
    page.goto(demo.base_url + "/api/v1/docs")
    page.wait_for_selector("text=Atila demo API v1")

    credentials = '{"username": "admin", "password": "atila-demo"}'
    status, answer = _try_out(page, "auth-token_post", credentials)
    assert status == "200"

    page.locator("button.authorize").first.click()
    page.locator(".auth-container input").first.fill(answer["token"])
    page.locator(".auth-btn-wrapper button.authorize").click()
    page.locator(".auth-btn-wrapper button.btn-done").click()

    status, answer = _try_out(page, "default-me_get")
    assert status == "200" and answer["username"] == "admin"
    assert outside == []  # every asset came from the server itself
    page.close()


@pytest.mark.slow
def test_front_page_updates_live_across_workers(demo: LiveClient, browser: Any) -> None:
    """Pages open on both workers; a photo added in the admin appears on every one of them
    without a reload (a Django signal -> app.broadcast -> the hub -> each worker's pages)."""
    pages: list[Any] = []
    workers: set[str] = set()
    while len(workers) < 2:
        assert len(pages) < 16, f"every page landed on worker(s) {workers}"
        page = browser.new_page()
        page.set_default_timeout(15000)
        page.goto(demo.base_url + "/")
        page.wait_for_selector("#live[data-worker]")
        workers.add(str(page.get_attribute("#live", "data-worker")))
        pages.append(page)

    admin = browser.new_page()
    admin.set_default_timeout(15000)
    admin.goto(demo.base_url + "/admin/login/")
    admin.fill("#id_username", "admin")
    admin.fill("#id_password", "atila-demo")
    admin.click("input[type=submit]")
    admin.wait_for_url(demo.base_url + "/admin/")
    admin.goto(demo.base_url + "/admin/photos/photo/add/")
    admin.select_option("#id_owner", label="admin")
    admin.fill("#id_title", "Live on every worker")
    admin.click("input[name=_save]")
    admin.wait_for_url(demo.base_url + "/admin/photos/photo/")
    for page in pages:  # the admin's worker and the other one alike
        page.wait_for_selector("#photos li.photo >> text=Live on every worker")
        page.close()
    admin.close()
