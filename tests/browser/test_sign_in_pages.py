"""The sign-in pages look like the product in the browser: the login card with its hint, and the
two-factor step, in English and Chinese (screenshots kept)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import StaffRole
from tests.browser.conftest import (
    PASSWORD,
    TEST_TOTP_SECRET,
    current_totp,
    enable_totp,
    screenshot,
    switch_language,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_card_and_two_factor_step_in_both_languages(page, live_server):
    admin = UserFactory(email="admin@op.example.com", password=PASSWORD, staff_role=StaffRole.ADMIN)
    enable_totp(admin)

    page.goto("/accounts/login/")
    card = page.locator(".auth-card")
    expect(card).to_be_visible()
    expect(page.get_by_test_id("no-signup-hint")).to_contain_text(
        "Accounts are created by your administrator"
    )
    expect(page.get_by_role("link", name="sign up")).to_have_count(0)
    submit = card.locator("button[type=submit]")
    expect(submit).to_have_class(re.compile(r"\bbtn btn-primary w-100\b"))
    # Bootstrap's primary blue, not the browser's grey default button
    assert submit.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(13, 110, 253)"
    # the card is centred
    box = page.locator(".card").bounding_box()
    width = page.viewport_size["width"]
    assert abs((box["x"] + box["width"] / 2) - width / 2) < 20
    screenshot(page, "sign-in-en")

    switch_language(page, "zh-hans")
    expect(page.get_by_test_id("no-signup-hint")).to_contain_text("没有自助注册")
    screenshot(page, "sign-in-zh")

    page.fill("input[name=login]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/authenticate/")
    expect(page.locator(".auth-card input[name=code]")).to_be_visible()
    expect(page.locator(".auth-card button[type=submit]").first).to_have_class(
        re.compile(r"\bbtn btn-primary\b")
    )
    screenshot(page, "two-factor-step-zh")

    switch_language(page, "en")
    screenshot(page, "two-factor-step-en")
    page.fill("input[name=code]", current_totp(TEST_TOTP_SECRET))
    page.click("form button[type=submit]")
    expect(page.locator(".shell-staff")).to_be_visible()
