"""A write-off in the browser: finance proposes it from the invoice page, an admin approves it, and the
invoice then reads "Written off"."""

from datetime import date

import pytest
from playwright.sync_api import expect

from accounts.models import StaffRole
from billing.receivables.models import WriteOff
from tests.billing.invoicing.factories import issued_invoice
from tests.browser.conftest import PASSWORD, TEST_TOTP_SECRET, enable_totp, screenshot, sign_in
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_proposes_and_another_admin_approves_a_write_off(page, browser, live_server):
    # given an unpaid invoice, a finance user and an admin
    customer = CustomerFactory(name="Vanished Labs")
    invoice = issued_invoice(customer, "860.00", issue_date=date(2026, 3, 2))
    enable_totp(UserFactory(email="fin@op.example.com", password=PASSWORD, staff_role=StaffRole.FINANCE))
    enable_totp(UserFactory(email="boss@op.example.com", password=PASSWORD, staff_role=StaffRole.ADMIN))

    # when finance opens the invoice and proposes writing it off
    sign_in(page, "fin@op.example.com", totp_secret=TEST_TOTP_SECRET)
    page.goto(f"/dashboard/finance/invoices/{invoice.pk}/")
    page.get_by_test_id("propose-writeoff").click()
    expect(page.get_by_test_id("writeoff-invoices")).to_contain_text(invoice.number)
    expect(page.locator(f"input[name=take_{invoice.pk}]")).to_be_checked()
    page.fill("textarea[name=reason]", "Customer dissolved; liquidator confirms no assets")
    page.get_by_test_id("writeoff-submit").click()
    expect(page.get_by_test_id("writeoff-status")).to_have_attribute("data-status", "proposed")
    expect(page.get_by_test_id("awaiting")).to_be_visible()
    expect(page.get_by_test_id("approve")).to_have_count(0)  # never offered to the proposer
    screenshot(page, "writeoff-proposed")
    write_off = WriteOff.objects.get()

    # when an admin signs in (another browser session) and approves it from the queue
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(15_000)
    admin_page = context.new_page()
    try:
        sign_in(admin_page, "boss@op.example.com", totp_secret=TEST_TOTP_SECRET)
        admin_page.goto("/receivables/write-offs/?status=proposed")
        expect(admin_page.get_by_test_id("writeoff-pending")).to_have_text("1")
        admin_page.get_by_role("link", name=f"#{write_off.pk}", exact=False).click()
        admin_page.get_by_test_id("approve").click()
        expect(admin_page.get_by_test_id("writeoff-status")).to_have_attribute("data-status", "approved")
        expect(admin_page.get_by_test_id("writeoff-expense")).to_have_text("860.00 CNY")
        screenshot(admin_page, "writeoff-approved")

        # then the invoice page shows it written off, with the amount line
        admin_page.goto(f"/dashboard/finance/invoices/{invoice.pk}/")
        expect(admin_page.get_by_test_id("invoice-status")).to_have_text("Written off")
        expect(admin_page.get_by_test_id("invoice-written-off")).to_contain_text("860.00")
        expect(admin_page.get_by_test_id("invoice-due")).to_have_text("0.00 CNY")
        screenshot(admin_page, "writeoff-invoice")
    finally:
        context.close()
    write_off.refresh_from_db()
    assert write_off.status == "approved" and write_off.decided_by.email == "boss@op.example.com"
