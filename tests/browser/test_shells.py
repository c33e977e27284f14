"""Staff and customer users land in the right shell, in English and in Chinese."""

import pytest
from playwright.sync_api import expect

from accounts.models import StaffRole
from tests.browser.conftest import (
    PASSWORD,
    TEST_TOTP_SECRET,
    enable_totp,
    screenshot,
    sign_in,
    switch_language,
)
from tests.factories import CustomerFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_staff_signs_in_with_two_factor_and_sees_the_dashboard_in_both_languages(page, live_server):
    # given a finance user, who must use two-factor authentication
    user = UserFactory(email="fei@op.example.com", password=PASSWORD, staff_role=StaffRole.FINANCE)
    enable_totp(user)
    CustomerFactory(name="Acme Agents")

    # when
    sign_in(page, "fei@op.example.com", totp_secret=TEST_TOTP_SECRET)

    # then the staff shell, in English
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.locator(".shell-staff")).to_be_visible()
    expect(page.locator("#sidebar")).to_contain_text("Customers")
    expect(page.get_by_test_id("customer-total")).to_have_text("1")
    screenshot(page, "staff-dashboard-en")

    switch_language(page, "zh-hans")
    expect(page.locator("#sidebar")).to_contain_text("客户")
    expect(page.locator("h1")).to_have_text("仪表盘")
    screenshot(page, "staff-dashboard-zh")


def test_customer_user_signs_in_and_sees_the_portal_in_both_languages(page):
    MembershipFactory(
        user=UserFactory(email="owner@acme.example.com", password=PASSWORD),
        customer=CustomerFactory(name="Acme Agents"),
    )

    sign_in(page, "owner@acme.example.com")

    expect(page.locator(".shell-portal")).to_be_visible()
    expect(page.locator(".shell-staff")).to_have_count(0)
    expect(page.locator("h1")).to_have_text("Welcome, Acme Agents")
    expect(page.locator(".navbar")).to_contain_text("Customer portal")
    screenshot(page, "portal-home-en")

    switch_language(page, "zh-hans")
    expect(page.locator(".navbar")).to_contain_text("客户门户")
    expect(page.locator("h1")).to_have_text("欢迎，Acme Agents")
    screenshot(page, "portal-home-zh")
