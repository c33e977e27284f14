"""A newcomer's first month in the browser: onboard a credit customer, usage dated before the onboarding
arrives, the month is closed — and the invoice carries that usage (issue #16: the close said "Done, 0
invoices" and the usage stayed exposure forever)."""

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from accounts.models import StaffRole
from tests.billing.usage.factories import default_plan, priced_model, source_make
from tests.browser.conftest import PASSWORD, TEST_TOTP_SECRET, enable_totp, screenshot, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOV_3 = datetime(2026, 11, 3, 2, tzinfo=UTC)


def gateway_sends(live_server, token: str, records: list[dict]) -> dict:
    """The gateway delivers a batch to the usage API, as a machine does."""
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/usage/batches",
        data=json.dumps(records).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": "nightly-export-1",
        },
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def test_usage_sent_before_onboarding_is_on_the_first_invoice(page, live_server):
    priced_model()  # sells at 2 per million input tokens, 8 per million output tokens (CNY)
    default_plan()
    _source, token = source_make(name="edge")
    enable_totp(UserFactory(email="ada@op.example.com", password=PASSWORD, staff_role=StaffRole.ADMIN))
    sign_in(page, "ada@op.example.com", totp_secret=TEST_TOTP_SECRET)

    # given a customer onboarded today on monthly credit terms, its gateway key mapped
    page.goto("/dashboard/customers/new/")
    onboarding = page.locator("form", has=page.get_by_role("button", name="Create customer"))
    onboarding.locator("input[name=name]").fill("Newco Labs")
    onboarding.locator("input[name=code]").fill("newco")
    onboarding.get_by_label("Kind").select_option("end_customer")
    onboarding.get_by_label("Document language").select_option("en")
    onboarding.get_by_label("Billing mode").select_option("monthly")
    onboarding.get_by_label("Currency").fill("CNY")
    onboarding.get_by_role("button", name="Create customer").click()
    expect(page.get_by_text("Customer Newco Labs created.")).to_be_visible()
    page.goto("/dashboard/usage/keys/")
    form = page.get_by_test_id("key-form")
    form.locator("input[name=key]").fill("sk-newco")
    form.locator("select[name=customer]").select_option(label="Newco Labs")
    form.get_by_role("button", name="Add mapping").click()
    expect(page.get_by_text("Key sk-newco now means Newco Labs.")).to_be_visible()

    # when the gateway delivers 500 requests dated 3 November, a month before the onboarding
    records = [
        {
            "request_id": f"nov-{i}",
            "occurred_at": (NOV_3 + timedelta(minutes=i)).isoformat(),
            "key": "sk-newco",
            "model": "deepseek-chat",
            "prompt_tokens": 20_000,  # 0.04
            "completion_tokens": 11_200,  # 0.0896
        }
        for i in range(500)
    ]
    assert gateway_sends(live_server, token, records)["accepted"] == 500

    # and finance closes November
    page.goto("/dashboard/period-closes/")
    close_form = page.get_by_test_id("close-form")
    close_form.locator("input[name=period]").fill("2026-11")
    close_form.get_by_role("button", name="Run close").click()

    # then the close made one invoice, and it carries the usage: 500 × 0.1296 = 64.80
    row = page.get_by_test_id("close-table").locator("tr", has_text="2026-11")
    expect(row).to_contain_text("Done")
    row.get_by_role("link", name="1").click()
    invoices = page.get_by_test_id("invoice-table")
    expect(invoices).to_contain_text("Newco Labs")
    invoices.locator("tr", has_text="Newco Labs").get_by_role("link").first.click()
    expect(page.get_by_test_id("invoice-lines")).to_contain_text("deepseek-chat")
    expect(page.get_by_test_id("invoice-total")).to_have_text("64.80 CNY")
    screenshot(page, "close-journey-first-invoice")
