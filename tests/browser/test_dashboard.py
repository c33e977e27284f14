"""The owner's morning screen in a browser: the float trend drawn from snapshots, the formula on hover, the
currency split a click away, and a past day picked from the date field."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import StaffRole
from billing.exposure.snapshots import snapshot_take
from tests.billing.exposure.test_figures import ledger_world
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


def test_finance_reads_the_float_its_trend_formula_and_split_then_a_past_day(page):
    ledger_world()
    yesterday = timezone.localdate() - timedelta(days=1)
    for offset in range(3):
        snapshot_take(yesterday - timedelta(days=offset))
    enable_totp(UserFactory(email="fei@op.example.com", password=PASSWORD, staff_role=StaffRole.FINANCE))
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))

    sign_in(page, "fei@op.example.com", totp_secret=TEST_TOTP_SECRET)
    page.goto("/dashboard/")

    # the trend's canvas is drawn by Chart.js
    expect(page.locator("canvas#chart-float[data-rendered=true]")).to_have_count(1)
    assert page.evaluate("Boolean(Chart.getChart('chart-float'))")
    assert (
        page.evaluate("Chart.getChart('chart-float').data.datasets[0].data.filter(v => v !== null).length")
        == 4
    )
    expect(page.get_by_test_id("value-funded_float")).to_have_text("-146.50 CNY")

    # hovering the float's label shows its formula
    page.get_by_test_id("formula-funded_float").hover()
    tooltip = page.locator(".tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("Funded float = upstream prepaid + unbilled + receivables")

    # a click on the amount opens its split by currency
    split = page.get_by_test_id("split-funded_float")
    expect(split).to_be_hidden()
    page.get_by_test_id("value-funded_float").click()
    expect(split).to_be_visible()
    expect(split).to_contain_text("CNY")
    screenshot(page, "dashboard-en")

    # a past day, as it was
    page.fill("input[name=day]", yesterday.isoformat())
    with page.expect_navigation():
        page.get_by_test_id("day-form").locator("button[type=submit]").click()
    expect(page.get_by_test_id("as-of")).to_contain_text(yesterday.isoformat())
    expect(page.get_by_test_id("value-cash")).to_have_text("-300.00 CNY")

    switch_language(page, "zh-hans")
    expect(page.locator("h1")).to_have_text("仪表盘")
    screenshot(page, "dashboard-zh")
    assert errors == []
