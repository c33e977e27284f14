"""The browser-test harness: Playwright driving Debian's chromium, headless, against the live test server.

Playwright's browser is never downloaded: we launch the system chromium (``CHROMIUM_PATH`` or
``/usr/bin/chromium``). Screenshots go to ``test-artifacts/screenshots/`` for CI to keep.
"""

import os
import time
from pathlib import Path

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value

from tests.conftest import CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TEST_TOTP_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
PASSWORD = "browser-pass-2026"

# Flags that keep chromium off the (closed) network and quiet in a container running as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(django_db_setup, live_server):
    """One headless chromium per test module.

    Playwright's sync API keeps an event loop running in this thread for as long as it is open, and
    Django refuses ORM calls from a thread with a running loop. The calls made here (the tests' own
    set-up, the database flush between tests) are synchronous and safe, so they are let through
    while the browser is open, and the browser is closed at the end of each module so the rest of
    the suite runs with the guard back on. The test database and live server start first.
    """
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def current_totp(secret: str = TEST_TOTP_SECRET) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def enable_totp(user, secret: str = TEST_TOTP_SECRET) -> None:
    """Give ``user`` a TOTP authenticator with a known secret, as admin and finance staff must have."""
    TOTP.activate(user, secret)


def sign_in(page, email: str, password: str = PASSWORD, *, totp_secret: str | None = None) -> None:
    """Sign in through the real login form (and the two-factor step when the user has TOTP)."""
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")
    if totp_secret is not None:
        # A code read at the very end of its 30-second window can reach the server in the next one and be
        # refused; the page then asks again, and the next window's code is entered once more.
        for _attempt in range(2):
            page.fill("input[name=code]", current_totp(totp_secret))
            page.click("form button[type=submit]")
            page.wait_for_load_state("networkidle")
            if "/2fa/authenticate" not in page.url:
                break


def switch_language(page, code: str) -> None:
    with page.expect_navigation():
        page.select_option("select[name=language]", code)
