"""Sales onboards a credit customer end to end from the customer page: creates it with its payment term,
credit limit and plan, maps its gateway key, invites a portal user; the invited person opens the link
from the e-mail, sets a password and signs in to the portal. The page is then read in Chinese."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import Customer, StaffRole
from billing.terms.models import BillingTerms
from catalog.models import PlanAssignment
from catalog.services.plans import plan_create
from tests.browser.conftest import (
    PASSWORD,
    TEST_TOTP_SECRET,
    enable_totp,
    screenshot,
    sign_in,
    switch_language,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INVITED = "ling@credit-labs.example.com"
NEW_PASSWORD = "portal-pass-2026"


@pytest.fixture
def sales():
    user = UserFactory(email="sam@op.example.com", password=PASSWORD, staff_role=StaffRole.SALES)
    enable_totp(user)
    return user


@pytest.fixture
def plan():
    return plan_create(name="Standard CNY", currency="CNY")


def test_sales_onboards_a_credit_customer_from_the_customer_page(page, browser, live_server, sales, plan):
    problems = []  # script errors and CSP refusals anywhere on the way
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, sales.email, totp_secret=TEST_TOTP_SECRET)

    # Create the customer with its terms, limit and plan in one form.
    page.goto("/dashboard/customers/new/")
    form = page.locator("main form")  # the top bar has a language select of its own
    form.locator("input[name=name]").fill("Credit Labs")
    form.locator("input[name=code]").fill("credit-labs")
    form.locator("select[name=kind]").select_option(Customer.Kind.END_CUSTOMER)
    form.locator("select[name=language]").select_option("en")
    form.locator("input[name=contact_email]").fill("ops@credit-labs.example.com")
    form.locator("select[name=mode]").select_option(BillingTerms.Mode.MONTHLY)
    form.locator("select[name=payment_term]").select_option(BillingTerms.PaymentTerm.NET)
    form.locator("input[name=payment_days]").fill("30")
    form.locator("input[name=credit_limit]").fill("50000")
    form.locator("select[name=plan]").select_option(label="Standard CNY")
    with page.expect_navigation():
        page.get_by_role("button", name="Create customer").click()

    customer = Customer.objects.get(code="credit-labs")
    assert page.url.endswith(f"/dashboard/customers/{customer.pk}/")
    checklist = page.get_by_test_id("onboarding-checklist")
    expect(checklist).to_be_visible()
    expect(page.get_by_test_id("checklist-terms")).to_have_attribute("data-done", "true")
    expect(page.get_by_test_id("checklist-plan")).to_have_attribute("data-done", "true")
    expect(page.get_by_test_id("checklist-key")).to_have_attribute("data-done", "false")
    expect(page.get_by_test_id("checklist-user")).to_have_attribute("data-done", "false")
    assert PlanAssignment.objects.get(customer=customer).plan == plan
    screenshot(page, "customer-onboarding-1-created")

    # Terms and limits load in their tab, without a page load; the limit reads as money.
    page.get_by_test_id("tab-terms").click()
    expect(page.get_by_test_id("tab-pane")).to_have_attribute("data-tab", "terms")
    expect(page.get_by_test_id("credit-limit")).to_have_text("50,000.00 CNY")
    expect(page.get_by_test_id("payment-term")).to_have_text("Net 30 days")
    assert page.url.endswith("?tab=terms")

    # The change log says what onboarding set, in words.
    page.get_by_test_id("tab-changes").click()
    expect(page.get_by_test_id("terms-changes")).to_contain_text("Payment term: Due on receipt → Net 30 days")
    expect(page.get_by_test_id("terms-changes")).to_contain_text(
        "Credit limit: No credit limit → 50,000.00 CNY"
    )

    # The usage tab arrives by htmx and its charts are drawn then.
    page.get_by_test_id("tab-usage").click()
    expect(page.locator("#chart-tokens")).to_be_visible()
    page.wait_for_function("() => window.Chart && !!Chart.getChart('chart-tokens')")

    # Map the gateway key from the checklist's link (sales may).
    page.get_by_test_id("checklist-key").get_by_role("link").click()
    expect(page.get_by_test_id("tab-pane")).to_have_attribute("data-tab", "keys")
    form = page.get_by_test_id("key-add-form")
    form.locator("input[name=key]").fill("sk-credit-labs-01")
    with page.expect_navigation():
        form.get_by_role("button", name="Add key").click()
    expect(page.get_by_test_id("customer-keys")).to_contain_text("sk-credit-labs-01")
    expect(page.get_by_test_id("checklist-key")).to_have_attribute("data-done", "true")
    screenshot(page, "customer-onboarding-2-key")

    # Invite a portal user in the portal users tab.
    page.get_by_test_id("tab-users").click()
    invite = page.get_by_test_id("invite-form")
    expect(invite).to_be_visible()
    invite.locator("input[name=email]").fill(INVITED)
    invite.locator("select[name=role]").select_option("billing")
    invite.get_by_test_id("send-invitation").click()
    expect(page.get_by_test_id("invitation-row")).to_contain_text(INVITED)
    screenshot(page, "customer-onboarding-3-invited")
    page.reload()  # every step done: the checklist has gone
    expect(page.get_by_test_id("onboarding-checklist")).to_have_count(0)

    # The invited person opens the link from the e-mail and sets a password.
    message = next(m for m in mail.outbox if INVITED in m.to)
    link = re.search(r"https?://\S+/accounts/invitation/[^/\s]+/", message.body)[0]
    invited = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 1366, "height": 900}
    )
    portal = invited.new_page()
    portal.goto(link)
    portal.fill("input[name=password1]", NEW_PASSWORD)
    portal.fill("input[name=password2]", NEW_PASSWORD)
    with portal.expect_navigation():
        portal.get_by_test_id("accept").click()
    assert portal.url.endswith("/portal/")

    # ... and signs in to the portal with it later.
    portal.get_by_test_id("sign-out").click()
    portal.wait_for_load_state("networkidle")
    if portal.locator("form button[type=submit]").count():  # allauth asks to confirm signing out
        portal.locator("form button[type=submit]").first.click()
        portal.wait_for_load_state("networkidle")
    sign_in(portal, INVITED, NEW_PASSWORD)
    assert "/portal/" in portal.url
    expect(portal.get_by_text("Credit Labs").first).to_be_visible()
    screenshot(portal, "customer-onboarding-4-portal")
    invited.close()

    # The new user is on the customer page; the page reads in Chinese.
    page.goto(f"/dashboard/customers/{customer.pk}/?tab=users")
    expect(page.get_by_test_id("member-table")).to_contain_text(INVITED)
    page.goto(f"/dashboard/customers/{customer.pk}/?tab=terms")
    switch_language(page, "zh-hans")
    expect(page.get_by_test_id("tab-terms")).to_contain_text("条款与额度")
    expect(page.get_by_test_id("credit-limit")).to_have_text("50,000.00 CNY")
    page.get_by_test_id("tab-changes").click()
    expect(page.get_by_test_id("terms-changes")).to_contain_text("付款条件")
    screenshot(page, "customer-onboarding-5-zh")

    # At 1,024 px the tabs wrap and nothing scrolls sideways.
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto(f"/dashboard/customers/{customer.pk}/?tab=invoices")
    expect(page.get_by_test_id("customer-invoices")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    screenshot(page, "customer-onboarding-6-1024-zh")
    assert not problems, problems
