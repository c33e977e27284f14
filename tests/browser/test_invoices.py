"""Invoices in the browser: a customer opens its invoice, downloads the PDF and starts paying it by card."""

import re
from datetime import date
from pathlib import Path

import pytest
import stripe
from playwright.sync_api import expect

from accounts.models import MemberRole
from billing.receivables.models import CustomerPayment
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.payments.stripe_fakes import SECRET_KEY, WEBHOOK_SECRET, RecordedStripeHTTP
from tests.browser.conftest import PASSWORD, screenshot, sign_in
from tests.factories import CustomerFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stripe_recorded(settings):
    # The live server runs in this process, so it sees these settings and Stripe's replaced HTTP client.
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_ENABLED = True
    previous, fake = stripe.default_http_client, RecordedStripeHTTP()
    stripe.default_http_client = fake
    yield fake
    stripe.default_http_client = previous


def test_customer_downloads_its_invoice_and_starts_paying_it_by_card(page, live_server, stripe_recorded):
    # given a credit customer with an issued invoice, and another customer's invoice it must not see
    acme = CustomerFactory(name="Acme Agents")
    MembershipFactory(
        user=UserFactory(email="owner@acme.example.com", password=PASSWORD),
        customer=acme,
        role=MemberRole.OWNER,
    )
    invoice = issued_invoice(acme, "1280.50", issue_date=date(2026, 10, 31), description="Prompt engineering")
    stranger = issued_invoice(CustomerFactory(name="Other Co"), "99.00", issue_date=date(2026, 10, 31))

    # when the customer opens its invoices
    sign_in(page, "owner@acme.example.com")
    page.get_by_test_id("nav-billing-menu").click()  # the portal's billing pages share one menu
    page.get_by_role("link", name="Invoices").click()
    expect(page.get_by_test_id("portal-invoice-table")).to_contain_text(invoice.number)
    expect(page.get_by_test_id("portal-invoice-table")).not_to_contain_text(stranger.number)
    page.get_by_role("link", name=invoice.number).click()
    expect(page.get_by_test_id("invoice-due")).to_have_text("1,280.50 CNY")
    screenshot(page, "portal-invoice-detail")

    # then the PDF downloads
    with page.expect_download() as download_info:
        page.get_by_test_id("download-pdf").click()
    download = download_info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")

    # when they pay by card, they are sent to Stripe Checkout (intercepted: no network here)
    checkout_hits = []

    def fake_checkout(route):
        checkout_hits.append(route.request.url)
        route.fulfill(
            status=200, content_type="text/html", body="<html><body><h1>Stripe Checkout</h1></body></html>"
        )

    page.route(re.compile(r"^https://checkout\.stripe\.com/.*"), fake_checkout)
    page.get_by_test_id("pay-by-card").click()
    expect(page.locator("h1")).to_have_text("Stripe Checkout")

    # then the redirect is the recorded session's URL, for the amount due on that invoice
    payment = CustomerPayment.objects.get()
    assert checkout_hits == [payment.checkout_url.split("#")[0]]
    assert page.url == payment.checkout_url
    assert (payment.intended_invoice_id, payment.status, str(payment.amount)) == (
        invoice.pk,
        "pending",
        "1280.50",
    )
    (request,) = stripe_recorded.requests
    assert request["params"]["line_items[0][price_data][unit_amount]"] == "128050"


def test_finance_records_a_payment_from_the_invoice_and_issues_a_credit_note(page):
    from accounts.models import StaffRole
    from tests.browser.conftest import TEST_TOTP_SECRET, enable_totp

    acme = CustomerFactory(name="Acme Agents")
    invoice = issued_invoice(acme, "500.00", issue_date=date(2026, 10, 31), description="Agent orchestration")
    enable_totp(UserFactory(email="fei@op.example.com", password=PASSWORD, staff_role=StaffRole.FINANCE))

    # given finance on the invoice
    sign_in(page, "fei@op.example.com", totp_secret=TEST_TOTP_SECRET)
    page.goto("/dashboard/finance/invoices/")
    page.get_by_role("link", name=invoice.number).click()

    # when they record 200 against it
    page.get_by_test_id("record-payment").click()
    page.fill("input[name=amount]", "200.00")
    page.fill("input[name=reference]", "ICBC20261105-0007")
    page.click("form[data-testid=payment-form] button[type=submit]")
    expect(page.get_by_test_id("payment-unallocated")).to_have_text("0.00 CNY")
    page.get_by_role("link", name=invoice.number).click()

    # then the invoice is partially paid with 300 due
    expect(page.get_by_test_id("invoice-status")).to_have_attribute("data-status", "partially_paid")
    expect(page.get_by_test_id("invoice-due")).to_have_text("300.00 CNY")
    expect(page.get_by_test_id("allocations")).to_contain_text("ICBC20261105-0007")
    expect(page.get_by_test_id("void")).to_have_count(0)  # paid in part: credit it instead

    # when they credit 300 of the line
    page.get_by_test_id("credit-note").click()
    page.fill("input[name=reason]", "Hours over-billed")
    page.get_by_label("Agent orchestration").fill("300.00")
    page.get_by_test_id("issue-credit-note").click()

    # then nothing is due and the credit note is listed
    expect(page.get_by_test_id("invoice-status")).to_have_attribute("data-status", "paid")
    expect(page.get_by_test_id("invoice-due")).to_have_text("0.00 CNY")
    expect(page.get_by_test_id("credit-notes")).to_contain_text("Hours over-billed")
    screenshot(page, "staff-invoice-detail-paid-and-credited")
