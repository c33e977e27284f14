"""The forecast page in a real browser: its chart is drawn under the Content-Security-Policy."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import StaffRole
from tests.billing.invoicing.factories import issued_invoice
from tests.browser.conftest import (  # noqa: F401 (fixtures)
    PASSWORD,
    TEST_TOTP_SECRET,
    browser,
    enable_totp,
    page,
    screenshot,
    sign_in,
)
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


def test_the_float_curve_is_drawn_without_a_policy_violation(page):  # noqa: F811 (fixture)
    today = timezone.localdate()
    issued_invoice(CustomerFactory(name="Acme Agents"), "300.00", issue_date=today - timedelta(days=2))
    enable_totp(UserFactory(email="fei@op.example.com", password=PASSWORD, staff_role=StaffRole.FINANCE))
    page.add_init_script(WATCH_VIOLATIONS)
    sign_in(page, "fei@op.example.com", totp_secret=TEST_TOTP_SECRET)

    page.goto("/reports/forecast/?window=28&horizon=30")

    # forecast-charts.js marks the canvas once Chart.js has drawn it
    expect(page.locator('#forecast-chart[data-ready="1"]')).to_have_count(1)
    assert page.evaluate("Chart.getChart('forecast-chart').data.labels.length") == 31
    assert page.evaluate("window.__cspViolations") == []
    expect(page.get_by_test_id("bucket-d1_30")).to_contain_text("300.00")  # due on receipt, 2 days ago
    screenshot(page, "forecast")

    page.fill("input[name=window]", "5")
    with page.expect_navigation():
        page.click("[data-testid=forecast-form] button[type=submit]")
    expect(page.get_by_test_id("error-window")).to_be_visible()
