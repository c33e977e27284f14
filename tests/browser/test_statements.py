"""Statements in the browser: an accountant downloads one statement, then a period's zip of all of them."""

import datetime as dt
import zipfile

import pytest
from playwright.sync_api import expect

from accounts.models import StaffRole
from tests.billing.documents.helpers import invoice, payment
from tests.browser.conftest import PASSWORD, TEST_TOTP_SECRET, enable_totp, screenshot, sign_in
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def books(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    customers = []
    for name, code in (("Acme Agents", "acme"), ("北京模型科技", "bj-models"), ("Gamma Labs", "gamma")):
        customer = CustomerFactory(name=name, code=code, language="zh-hans" if code == "bj-models" else "en")
        first = invoice(customer, "1000.00", dt.date(2026, 9, 20))
        invoice(customer, "250.00", dt.date(2026, 10, 6))
        payment(customer, "600.00", dt.date(2026, 10, 15), [(first, "600.00")])
        customers.append(customer)
    return customers


def test_accountant_downloads_a_statement_and_the_periods_zip(page, eager_celery, books):
    enable_totp(UserFactory(email="books@example.com", password=PASSWORD, staff_role=StaffRole.FINANCE))
    sign_in(page, "books@example.com", totp_secret=TEST_TOTP_SECRET)

    # given the accountant picks a customer and October on the statements page
    page.goto("/dashboard/finance/statements/")
    page.select_option("select[name=customer]", label="Acme Agents")
    page.select_option("select[name=period]", "month")
    page.fill("input[name=month]", "2026-10")
    page.get_by_test_id("statement-show").click()
    expect(page.get_by_test_id("statement-opening")).to_have_text("1,000.00")
    expect(page.get_by_test_id("statement-closing")).to_have_text("650.00")
    screenshot(page, "staff-statement-preview")

    # when they download the PDF, it is a PDF
    with page.expect_download() as download_info:
        page.get_by_test_id("statement-pdf").click()
    pdf_path = download_info.value.path()
    with open(pdf_path, "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    assert download_info.value.suggested_filename == "statement-acme-20261001-20261031.pdf"

    # and when they start the period's zip export, it finishes and lists one PDF per customer
    page.goto("/dashboard/finance/statements/exports/")
    page.select_option("form[data-testid=export-form] select[name=period]", "month")
    page.fill("form[data-testid=export-form] input[name=month]", "2026-10")
    page.get_by_test_id("export-start").click()
    row = page.get_by_test_id("export-row").first
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)
    expect(row).to_contain_text("3 / 3")
    screenshot(page, "staff-statement-export-done")
    with page.expect_download() as zip_info:
        row.get_by_test_id("export-download").click()
    with zipfile.ZipFile(zip_info.value.path()) as archive:
        names = sorted(archive.namelist())
        assert names == ["acme.pdf", "bj-models.pdf", "gamma.pdf"]
        assert all(archive.read(name).startswith(b"%PDF") for name in names)
