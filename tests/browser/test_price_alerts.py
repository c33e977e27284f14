"""The price alerts page at 1,024 px: long plan and model names wrap and the page never scrolls sideways."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import StaffRole
from catalog.models import BookKind, PlanRule
from catalog.services.alerts import price_check_run
from tests.browser.conftest import (
    PASSWORD,
    TEST_TOTP_SECRET,
    enable_totp,
    screenshot,
    sign_in,
    switch_language,
)
from tests.catalog.factories import (
    AIModelFactory,
    PriceBookFactory,
    SellPlanFactory,
    add_prices,
    add_rule,
    tier,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alerts():
    model = AIModelFactory(name="claude-sonnet-4-5-20250929-long-context-preview-edition")
    cost = PriceBookFactory(name="Anthropic contract", kind=BookKind.COST, currency="CNY")
    listing = PriceBookFactory(name="Anthropic list", kind=BookKind.LIST, currency="CNY")
    add_prices(cost, model, tier(input="5", output="25", cache_read="0.5", cache_write_1h="10"))
    add_prices(listing, model, tier(input="4", output="20", cache_read="0.4", cache_write_1h="8"))
    plan = SellPlanFactory(name="华东智算分销 East China AI Reseller wholesale plan 2026", currency="CNY")
    add_rule(plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0"))
    assert price_check_run(trigger="test").findings


def test_the_alerts_page_fits_1024_px_in_both_languages(page, live_server, alerts):
    enable_totp(UserFactory(email="fin@op.example.com", password=PASSWORD, staff_role=StaffRole.FINANCE))
    page.set_viewport_size({"width": 1024, "height": 800})
    sign_in(page, "fin@op.example.com", totp_secret=TEST_TOTP_SECRET)
    for language, label in (("en", "Cache write 1h"), ("zh-hans", "缓存写入 1 小时")):
        if language != "en":
            switch_language(page, language)
        page.goto("/dashboard/catalog/alerts/")
        table = page.get_by_test_id("alert-table")
        expect(table).to_contain_text(label)
        expect(table).not_to_contain_text("cache_write_1h")
        # the page itself never scrolls sideways: a wide table would scroll inside its own box
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        screenshot(page, f"price-alerts-1024-{language}")
