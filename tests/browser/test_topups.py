"""Top-ups in the browser: card through (recorded) Stripe Checkout and the signed webhook; bank transfers."""

import re
from decimal import Decimal

import pytest
import requests
import stripe
from playwright.sync_api import expect

from accounts.models import MemberRole, StaffRole
from billing.payments.models import CardTopUp
from tests.billing.payments.stripe_fakes import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    RecordedStripeHTTP,
    event_for,
    sign,
)
from tests.browser.conftest import PASSWORD, TEST_TOTP_SECRET, enable_totp, screenshot, sign_in
from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def stripe_recorded(settings):
    # The live server runs in this process, so it sees these settings and Stripe's replaced HTTP client.
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_ENABLED = True
    settings.TOPUP_CARD_FEE_MODE = "customer"
    settings.TOPUP_CARD_FEE_PERCENT = Decimal("2.9")
    previous, fake = stripe.default_http_client, RecordedStripeHTTP()
    stripe.default_http_client = fake
    yield fake
    stripe.default_http_client = previous


@pytest.fixture
def acme_owner():
    customer = BillingTermsFactory(customer=CustomerFactory(name="Acme Agents"), currency="CNY").customer
    MembershipFactory(
        user=UserFactory(email="owner@acme.example.com", password=PASSWORD),
        customer=customer,
        role=MemberRole.OWNER,
    )
    return customer


def test_customer_tops_up_by_card_and_sees_the_credit_once_the_webhook_arrives(
    page, live_server, stripe_recorded, acme_owner
):
    # given a customer user on their wallet
    sign_in(page, "owner@acme.example.com")
    page.goto("/portal/wallet/")
    page.get_by_test_id("wallet-topup").click()
    expect(page.locator("h1")).to_have_text("Top up your wallet")

    # when they pick 500 CNY and continue, they are sent to Stripe Checkout (intercepted: no network here)
    checkout_hits = []

    def fake_checkout(route):
        checkout_hits.append(route.request.url)
        route.fulfill(
            status=200, content_type="text/html", body="<html><body><h1>Stripe Checkout</h1></body></html>"
        )

    page.route(re.compile(r"^https://checkout\.stripe\.com/.*"), fake_checkout)
    page.get_by_text("500 CNY", exact=True).click()
    screenshot(page, "portal-topup-amount")
    page.get_by_test_id("pay-by-card").click()
    expect(page.locator("h1")).to_have_text("Stripe Checkout")

    # then the redirect is the URL from the recorded Checkout Session response
    topup = CardTopUp.objects.get()
    # (the part after "#" stays in the browser, so compare the address bar for the full URL)
    assert checkout_hits == [topup.checkout_url.split("#")[0]]
    assert page.url == topup.checkout_url
    assert topup.checkout_url.startswith("https://checkout.stripe.com/c/pay/cs_test_")
    assert (topup.amount, topup.charged) == (Decimal("500"), Decimal("514.50"))

    # when Stripe sends them back, the payment is not confirmed yet
    page.goto(f"/portal/wallet/top-up/success/?session_id={topup.stripe_session_id}")
    expect(page.get_by_test_id("topup-status")).to_have_attribute("data-status", "open")
    screenshot(page, "portal-topup-success-pending")

    # and once the signed webhook has arrived, the page updates itself
    payload = event_for("event_checkout_session_completed", topup)
    response = requests.post(
        f"{live_server.url}/stripe/webhook/",
        data=payload.encode(),
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload)},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    expect(page.get_by_test_id("topup-status")).to_have_attribute("data-status", "paid", timeout=10_000)
    expect(page.get_by_test_id("topup-status")).to_contain_text("500")
    screenshot(page, "portal-topup-success-paid")

    # then the wallet shows the new balance and the entry in its history
    page.get_by_test_id("to-wallet").click()
    expect(page.get_by_test_id("wallet-paid")).to_have_text("500.00")
    expect(page.get_by_test_id("wallet-history")).to_contain_text(f"Card top-up {topup.public_id}")
    expect(page.get_by_test_id("wallet-history")).to_contain_text("+500.00")
    screenshot(page, "portal-wallet-after-card-topup")


def test_a_bad_amount_is_explained_in_the_portal(page, stripe_recorded, acme_owner):
    sign_in(page, "owner@acme.example.com")
    page.goto("/portal/wallet/top-up/")
    page.fill("input[name=amount]", "1")
    page.get_by_test_id("pay-by-card").click()
    expect(page.get_by_test_id("card-errors")).to_contain_text("must be between 50 and 50000")
    assert not CardTopUp.objects.exists()
    assert stripe_recorded.requests == []


def test_finance_records_a_bank_transfer_a_colleague_approves_and_the_customer_sees_it(
    page, browser, live_server, acme_owner, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.BANK_TRANSFER_REQUIRES_APPROVAL = True
    for email in ("fei@op.example.com", "fang@op.example.com"):
        enable_totp(UserFactory(email=email, password=PASSWORD, staff_role=StaffRole.FINANCE))

    # given finance records the transfer with its bank slip
    sign_in(page, "fei@op.example.com", totp_secret=TEST_TOTP_SECRET)
    page.goto("/dashboard/payments/bank-transfers/")
    page.get_by_test_id("record-transfer").click()
    page.select_option("select[name=customer]", label="Acme Agents")
    page.fill("input[name=currency]", "CNY")
    page.fill("input[name=amount]", "20000")
    page.fill("input[name=reference]", "ICBC20261120-0042")
    page.set_input_files(
        "input[name=attachment]", files=[{"name": "slip.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.click("form button[type=submit]")
    expect(page.get_by_test_id("transfer-status")).to_have_text("Awaiting approval")
    expect(page.get_by_test_id("approve")).to_have_count(0)  # not to its own recorder
    screenshot(page, "staff-bank-transfer-pending")

    # when a second finance user approves it
    colleague = browser.new_context(base_url=live_server.url, locale="en-US")
    other = colleague.new_page()
    sign_in(other, "fang@op.example.com", totp_secret=TEST_TOTP_SECRET)
    other.goto(page.url)
    other.get_by_test_id("approve").click()
    expect(other.get_by_test_id("transfer-status")).to_have_text("Approved and credited")
    colleague.close()

    # then the customer sees the money and the transfer
    customer_context = browser.new_context(base_url=live_server.url, locale="en-US")
    portal = customer_context.new_page()
    sign_in(portal, "owner@acme.example.com")
    portal.goto("/portal/wallet/")
    expect(portal.get_by_test_id("wallet-paid")).to_have_text("20,000.00")
    expect(portal.get_by_test_id("wallet-history")).to_contain_text("Bank transfer ICBC20261120-0042")
    portal.goto("/portal/wallet/top-up/")
    expect(portal.get_by_test_id("bank-transfer-row")).to_contain_text("ICBC20261120-0042")
    screenshot(portal, "portal-after-bank-transfer")
    customer_context.close()
