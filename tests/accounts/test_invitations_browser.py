"""In the browser: support invites a portal user from the customer's users tab, the person sets a password
through the e-mailed link and lands in the portal; an owner notifies a bank transfer with its slip."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import MemberRole, StaffRole
from billing.payments.models import BankTransfer
from tests.browser import conftest as browser_suite
from tests.browser.conftest import PASSWORD, TEST_TOTP_SECRET, enable_totp, screenshot, sign_in
from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory, StaffFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# The browser suite's fixtures, used here beside the other invitation tests.
browser = browser_suite.browser
page = browser_suite.page

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def acme():
    return BillingTermsFactory(
        customer=CustomerFactory(name="Acme Agents", code="acme"), currency="CNY"
    ).customer


def test_support_invites_a_user_who_signs_in_through_the_link(page, live_server, acme):
    support = StaffFactory(email="sue@op.example.com", staff_role=StaffRole.SUPPORT, password=PASSWORD)
    enable_totp(support)
    sign_in(page, "sue@op.example.com", totp_secret=TEST_TOTP_SECRET)
    page.goto(f"/dashboard/customers/{acme.pk}/users/")
    page.get_by_label("E-mail address").fill("ada@acme.example.com")
    page.get_by_label("Role").select_option("owner")
    page.get_by_test_id("send-invitation").click()
    # The panel is swapped in place by htmx with the new invitation listed.
    expect(page.get_by_test_id("invitation-row")).to_contain_text("ada@acme.example.com")
    expect(page.get_by_text("Invitation sent to ada@acme.example.com.")).to_be_visible()
    screenshot(page, "portal-users-invited")

    link = re.search(r"https?://[^/\s]+(/accounts/invitation/[\w-]+/)", mail.outbox[-1].body).group(1)
    page.goto("/accounts/logout/")
    page.get_by_role("button").last.click()
    page.wait_for_load_state("networkidle")
    page.goto(link)
    expect(page.get_by_test_id("accept-form")).to_be_visible()
    page.fill("input[name=password1]", "Ada-chooses-a-long-one-1")
    page.fill("input[name=password2]", "Ada-chooses-a-long-one-1")
    page.get_by_test_id("accept").click()
    expect(page.locator("body.shell-portal")).to_be_visible()
    expect(page.get_by_text("Welcome! Your account for Acme Agents is ready.")).to_be_visible()
    page.goto("/portal/users/")
    expect(page.get_by_test_id("member-row")).to_contain_text("ada@acme.example.com")
    screenshot(page, "portal-users-accepted")


def test_an_owner_notifies_a_bank_transfer_with_its_slip(page, live_server, acme, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.OPERATOR_BANK_ACCOUNT_NUMBER = "6222 0000 1111"
    MembershipFactory(
        user=UserFactory(email="owner@acme.example.com", password=PASSWORD),
        customer=acme,
        role=MemberRole.OWNER,
    )
    slip = tmp_path / "slip.pdf"
    slip.write_bytes(PDF)
    sign_in(page, "owner@acme.example.com")
    page.goto("/portal/wallet/top-up/")
    page.get_by_test_id("pay-by-bank").click()
    expect(page.get_by_test_id("payment-instructions")).to_contain_text("6222 0000 1111")
    page.get_by_label("Amount").fill("1200.00")
    page.get_by_label("Bank reference").fill("ICBC-20261207-01")
    page.get_by_label("Bank slip").set_input_files(str(slip))
    page.get_by_test_id("notify-submit").click()
    expect(page.get_by_test_id("transfer-row")).to_contain_text("ICBC-20261207-01")
    expect(page.get_by_test_id("transfer-status")).to_have_text("Awaiting approval")
    screenshot(page, "portal-bank-transfer-notified")
    assert BankTransfer.objects.get().attachment.name.endswith(".pdf")
