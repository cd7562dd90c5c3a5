"""Fixtures for the browser tests: a running `dossier web` and headless Chromium (Debian's, driven by
Playwright). Screenshots of every page go to BASETEMP/screenshots (a test artifact, not committed)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import archive_database
from tests.web.site import ANNA, PASSWORD, start_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("DOSSIER_REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM}; scripts/test.sh installs Debian's chromium")
        pytest.skip("no Chromium here (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, browser, backend: str, request: pytest.FixtureRequest):
    """The sample archive on ``backend`` served by `dossier web`, shared by a module's tests (which
    must not change it)."""
    root = tmp_path_factory.mktemp("site")
    with archive_database(backend, request) as url:
        running = start_site(root, tmp_path_factory.getbasetemp() / "screenshots", url)
        yield running
        running.stop()


@pytest.fixture
def own_site(tmp_path, tmp_path_factory, browser, database_url: str | None):
    """A site of the test's own, for a test that changes the archive."""
    running = start_site(tmp_path, tmp_path_factory.getbasetemp() / "screenshots", database_url)
    yield running
    running.stop()



def sign_in(browser, site, email: str, *, password: str = PASSWORD, locale: str = "en-US",
            width: int = 1100, height: int = 900, headers: dict | None = None):
    """A new browser context signed in as ``email``; returns (context, page)."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale,
                                  extra_http_headers=headers)
    page = context.new_page()
    page.goto(site.url + "/signin")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/search")
    return context, page


@pytest.fixture
def anna(browser, site):
    context, page = sign_in(browser, site, ANNA)
    yield page
    context.close()
