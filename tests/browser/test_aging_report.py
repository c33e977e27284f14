"""The receivables aging report in a browser: buckets by days past due, the chart drawn under the CSP, a past
as-of date picked in the form reading that day's figures, the CSV link, and the page in Chinese."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from accounts.models import StaffRole
from tests.billing.exposure.aging_helpers import credit_customer, invoice_aged, today
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


def test_finance_reads_the_buckets_a_past_day_and_the_chinese_page(page):
    on = today()
    acme = credit_customer("acme", name="Acme Robotics")
    invoice_aged(acme, "100.00", age=0, on=on)  # due today: current
    invoice_aged(acme, "200.00", age=30, on=on)  # 1–30
    invoice_aged(acme, "300.00", age=91, on=on)  # over 90
    enable_totp(UserFactory(email="fen@op.example.com", password=PASSWORD, staff_role=StaffRole.FINANCE))
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))

    sign_in(page, "fen@op.example.com", totp_secret=TEST_TOTP_SECRET)
    page.goto("/reports/aging/")

    expect(page.locator("canvas#aging-chart[data-ready='1']")).to_have_count(1)
    row = page.get_by_test_id("aging-row").filter(has_text="Acme Robotics")
    expect(row).to_contain_text("100.00")
    expect(row).to_contain_text("200.00")
    expect(row).to_contain_text("300.00")
    expect(row).to_contain_text("600.00")
    screenshot(page, "aging-en")

    # Ten days ago the over-90 invoice was 81 days late, the 1–30 one 20 days, the current one not yet due.
    past = on - dt.timedelta(days=10)
    page.fill("input[name=as_of]", past.isoformat())
    with page.expect_navigation():
        page.get_by_test_id("aging-filters").locator("button[type=submit]").click()
    expect(page.locator("canvas#aging-chart[data-ready='1']")).to_have_count(1)
    assert f"as_of={past.isoformat()}" in page.url
    cells = page.get_by_test_id("aging-row").filter(has_text="Acme Robotics").locator("td.text-end")
    # current, 1–30, 31–60, 61–90, over 90, total
    expect(cells.nth(0)).to_have_text("100.00")
    expect(cells.nth(1)).to_have_text("200.00")
    expect(cells.nth(3)).to_have_text("300.00")
    expect(cells.nth(4)).to_have_text("0.00")
    expect(cells.nth(5)).to_have_text("600.00")

    with page.expect_download() as download:
        page.get_by_test_id("aging-csv").click()
    assert download.value.suggested_filename.endswith(".csv")

    switch_language(page, "zh-hans")
    expect(page.locator("h1")).to_contain_text("应收账款账龄")
    expect(page.locator("canvas#aging-chart[data-ready='1']")).to_have_count(1)
    screenshot(page, "aging-zh")
    assert not errors, errors
