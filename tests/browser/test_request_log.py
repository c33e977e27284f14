"""The request log in the browser: a portal customer finds one request by its id and exports a day as CSV."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Customer, MemberRole, StaffRole
from billing.terms.models import BillingTerms
from billing.usage.models import UsageEvent
from billing.usage.services import usage_batch_ingest
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import AT, customer_make, default_plan, event, priced_model, source_make
from tests.browser.conftest import (
    PASSWORD,
    TEST_TOTP_SECRET,
    enable_totp,
    screenshot,
    sign_in,
    switch_language,
)
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customer_with_requests():
    """Acme's three requests on 4 May 2026 (18:30, 17:30 and 16:30 in Asia/Shanghai), one of them unrated,
    and another customer's request at the same time."""
    source, _token = source_make()
    priced_model()
    default_plan()
    acme = customer_make(key="acme-key")
    other = customer_make(key="other-key")
    top_up(acme, Decimal("100"))
    top_up(other, Decimal("100"))
    usage_batch_ingest(
        source=source,
        records=[
            event("chatcmpl-acme-1", key="acme-key", cache_read_tokens=300),
            event("chatcmpl-acme-2", key="acme-key", at=AT - timedelta(hours=1), prompt=2500, completion=900),
            event("chatcmpl-acme-3", key="acme-key", model="mystery-model", at=AT - timedelta(hours=2)),
            event("chatcmpl-other-1", key="other-key"),
        ],
    )
    MembershipFactory(
        user=UserFactory(email="owner@acme.example.com", password=PASSWORD),
        customer=acme,
        role=MemberRole.OWNER,
    )
    return acme


def test_a_customer_finds_a_request_by_its_id_and_exports_a_day(page, live_server, customer_with_requests):
    # given the customer on its request log: nothing in the last 24 hours
    sign_in(page, "owner@acme.example.com")
    page.goto("/portal/usage/requests/")
    expect(page.locator("h1")).to_have_text("Requests")
    expect(page.get_by_test_id("request-log-empty")).to_be_visible()
    screenshot(page, "request-log-empty")

    # when it searches one request by its id (from weeks ago: the id is searched at every date)
    page.fill("input[name=request_id]", "chatcmpl-acme-2")
    page.get_by_test_id("request-log-search").click()

    # then that one request is shown with its tokens and charge
    rows = page.get_by_test_id("request-row")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_have_attribute("data-request-id", "chatcmpl-acme-2")
    expect(row).to_contain_text("2026-05-04 17:30:00")
    expect(row).to_contain_text("2,500")
    expect(row.get_by_test_id("status")).to_have_text("Charged")
    charged = UsageEvent.objects.get(request_id="chatcmpl-acme-2").sell_amount
    expect(row.get_by_test_id("charge")).to_contain_text(f"{charged:.2f}")
    row.get_by_role("button", name="Details").click()
    expect(page.get_by_test_id("request-detail").first).to_be_visible()
    screenshot(page, "request-log-found-by-id")

    # and another customer's request is not found
    page.fill("input[name=request_id]", "chatcmpl-other-1")
    page.get_by_test_id("request-log-search").click()
    expect(page.get_by_test_id("request-log-empty")).to_contain_text("No request with this id was found.")

    # when it searches the whole day of 4 May and exports it
    page.fill("input[name=request_id]", "")
    page.fill("input[name=start]", "2026-05-04T00:00")
    page.fill("input[name=end]", "2026-05-05T00:00")
    page.get_by_test_id("request-log-search").click()
    expect(page.get_by_test_id("request-row")).to_have_count(3)
    unrated = page.locator("[data-request-id=chatcmpl-acme-3]").get_by_test_id("status")
    expect(unrated).to_have_text("Unrated")
    expect(unrated).to_have_attribute("title", re.compile("mystery-model"))  # why, on hover
    screenshot(page, "request-log-day")
    with page.expect_download() as download_info:
        page.get_by_test_id("request-log-csv").click()
    download = download_info.value

    # then the CSV holds the day's three requests, exact amounts and local times with their offset
    assert download.suggested_filename == "requests-20260504-0000-20260505-0000.csv"
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    header, *lines = list(csv.reader(io.StringIO(content)))
    assert [line[1] for line in lines] == ["chatcmpl-acme-1", "chatcmpl-acme-2", "chatcmpl-acme-3"]
    by_id = {line[1]: dict(zip(header, line, strict=True)) for line in lines}
    assert by_id["chatcmpl-acme-2"]["Time"] == "2026-05-04T17:30:00+08:00"
    assert by_id["chatcmpl-acme-2"]["Charge"] == format(charged, "f")
    assert by_id["chatcmpl-acme-1"]["Cache read tokens"] == "300"
    assert by_id["chatcmpl-acme-3"]["Status"] == "Unrated (not charged yet)"
    assert "chatcmpl-other-1" not in content

    # and the same page reads in Chinese
    switch_language(page, "zh-hans")
    expect(page.locator("h1")).to_have_text("请求记录")
    expect(page.get_by_test_id("request-row")).to_have_count(3)
    expect(page.locator("[data-request-id=chatcmpl-acme-1]").get_by_test_id("status")).to_have_text("已计费")
    screenshot(page, "request-log-day-zh")


def test_support_staff_narrows_the_log_to_one_customer(page, live_server, customer_with_requests):
    enable_totp(UserFactory(email="sam@op.example.com", password=PASSWORD, staff_role=StaffRole.SUPPORT))
    sign_in(page, "sam@op.example.com", totp_secret=TEST_TOTP_SECRET)
    page.goto("/dashboard/usage/requests/?start=2026-05-04T00:00&end=2026-05-05T00:00")
    expect(page.get_by_test_id("request-row")).to_have_count(4)

    page.select_option("select[name=customer]", str(customer_with_requests.pk))
    page.get_by_test_id("request-log-search").click()

    rows = page.get_by_test_id("request-row")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(customer_with_requests.name)
    screenshot(page, "request-log-staff")


LONG_NAME = "华东智算分销 East China AI Reseller"
LONG_ID = "chatcmpl-demo-huadong-zhisuan-reseller-2026-12-07-000914-abcdef0123456789"


@pytest.fixture
def reseller_with_long_names(customer_with_requests):
    """A reseller named like the demo's longest, selling to a customer with a long name too, whose request
    has an id as long as gateways send; the reseller's owner signs in as owner@huadong.example.com."""
    source = UsageEvent.objects.filter(customer=customer_with_requests).first().source
    reseller = customer_make(key="huadong-key")
    reseller.name, reseller.kind = LONG_NAME, Customer.Kind.SUB_DISTRIBUTOR
    reseller.save(update_fields=["name", "kind"])
    buyer = customer_make(key="buyer-key", parent=reseller, mode=BillingTerms.Mode.MONTHLY)
    buyer.name = "南京律联法律科技有限公司 Nanjing LawLink Legal Technology"
    buyer.save(update_fields=["name"])
    top_up(reseller, Decimal("100"))
    usage_batch_ingest(
        source=source,
        records=[
            event(
                LONG_ID, key="buyer-key", prompt=200000, cache_read_tokens=123456, cache_write_tokens=20000
            ),
            event("chatcmpl-huadong-1", key="huadong-key"),
        ],
    )
    assert UsageEvent.objects.filter(request_id=LONG_ID, customer=buyer).exists()
    MembershipFactory(
        user=UserFactory(email="owner@huadong.example.com", password=PASSWORD),
        customer=reseller,
        role=MemberRole.OWNER,
    )
    return reseller


def table_fits(page) -> bool:
    return page.locator(".table-responsive").first.evaluate("box => box.scrollWidth <= box.clientWidth")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_whole_log_fits_a_1024_px_portal_and_a_1440_px_staff_screen(
    page, live_server, reseller_with_long_names, language
):
    # given the reseller's owner on a 1,024 px screen: its customers' long names and a long request id
    page.set_viewport_size({"width": 1024, "height": 800})
    sign_in(page, "owner@huadong.example.com")
    if language != "en":
        switch_language(page, language)
    page.goto("/portal/usage/requests/?start=2026-05-04T00:00&end=2026-05-05T00:00")
    expect(page.get_by_test_id("request-row")).to_have_count(2)
    long_row = page.locator(f"[data-request-id='{LONG_ID}']")
    expect(long_row).to_contain_text("Nanjing LawLink")

    screenshot(page, f"request-log-portal-1024-{language}")

    # then every column, money and status included, fits the table's box without scrolling it
    assert table_fits(page)
    expect(long_row.get_by_test_id("status")).to_be_visible()
    expect(long_row.get_by_test_id("request-id")).to_have_attribute("title", LONG_ID)  # the whole id on hover
    expect(long_row.get_by_test_id("tokens")).to_contain_text("123,456")

    # and a staff member on a 1,440 px screen, beside the sidebar, sees every customer's requests, all fitting
    page.context.clear_cookies()
    enable_totp(UserFactory(email="ada@op.example.com", password=PASSWORD, staff_role=StaffRole.ADMIN))
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, "ada@op.example.com", totp_secret=TEST_TOTP_SECRET)
    if language != "en":
        switch_language(page, language)
    page.goto("/dashboard/usage/requests/?start=2026-05-04T00:00&end=2026-05-05T00:00")
    expect(page.get_by_test_id("request-row")).to_have_count(6)
    expect(page.locator(f"[data-request-id='{LONG_ID}']")).to_contain_text("Nanjing LawLink")
    screenshot(page, f"request-log-staff-1440-{language}")
    assert table_fits(page)
