"""Price pages name token classes as the price tables do, in the reader's language: never a raw class code."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from catalog.models import BookKind, PlanRule
from catalog.services.alerts import price_check_run
from tests.catalog.factories import (
    AIModelFactory,
    PriceBookFactory,
    SellPlanFactory,
    add_prices,
    add_rule,
    tier,
)
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db
CODES = ("cache_read", "cache_write_5m", "cache_write_1h", "reasoning")


@pytest.fixture
def losing(db):
    """A plan selling an hour's cache write below its cost: one loss alert for class cache_write_1h."""
    model = AIModelFactory(name="claude-sonnet-4-5-20250929-long-context-preview-edition")
    cost = PriceBookFactory(name="Anthropic contract", kind=BookKind.COST, currency="CNY")
    listing = PriceBookFactory(name="Anthropic list", kind=BookKind.LIST, currency="CNY")
    add_prices(cost, model, tier(input="3", output="15", cache_read="0.3", cache_write_1h="8"))
    add_prices(listing, model, tier(input="4", output="20", cache_read="0.4", cache_write_1h="6"))
    plan = SellPlanFactory(
        name="华东智算分销 East China AI Reseller wholesale plan 2026", currency="CNY", is_default=True
    )
    add_rule(plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0"))
    price_check_run(trigger="test")
    return {"model": model, "plan": plan}


def zh_get(client: Client, url: str, query=None) -> str:
    with translation.override("zh-hans"):
        return client.get(url, query or {}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def section(body: str, testid: str) -> str:
    """The element marked ``data-testid=testid`` up to its table's end."""
    start = body.index(f'data-testid="{testid}"')
    return body[start : body.index("</table>", start)]


def test_the_alert_list_names_the_class_in_chinese_in_a_box_of_its_own(staff_client, losing):
    body = zh_get(staff_client, reverse("catalog-alerts"))

    table = section(body, "alert-table")
    assert "缓存写入 1 小时" in table
    assert not [code for code in CODES if code in table]
    # the table scrolls in its own box, so the page itself never scrolls sideways at 1,024 px
    assert re.search(r'<div class="table-responsive"[^>]*>\s*<table[^>]*data-testid="alert-table"', body)


def test_the_staff_calculator_names_each_class_in_chinese(staff_client, losing):
    query = {
        "plan": losing["plan"].name,
        "model": losing["model"].name,
        "prompt_tokens": 10000,
        "cache_read_tokens": 4000,
        "cache_write_1h_tokens": 1000,
        "completion_tokens": 2000,
        "reasoning_tokens": 500,
    }
    body = zh_get(staff_client, reverse("catalog-calculator"), query)

    result = body[body.index('data-testid="quote-result"') :]
    assert "缓存命中" in result and "缓存写入 1 小时" in result and "推理" in result
    assert not [code for code in CODES if re.search(rf">\s*{code}\s*<", result)]


def test_the_portal_calculator_names_each_class_in_chinese(losing):
    customer = CustomerFactory()
    client = Client()
    client.force_login(MembershipFactory(customer=customer).user)
    query = {
        "customer": customer.pk,
        "model": losing["model"].name,
        "prompt_tokens": 10000,
        "cache_read_tokens": 4000,
        "reasoning_tokens": 500,
        "completion_tokens": 2000,
    }
    body = zh_get(client, reverse("portal-calculator"), query)

    result = body[body.index('data-testid="quote-result"') :]
    assert "缓存命中" in result and "推理" in result
    assert not [code for code in CODES if re.search(rf">\s*{code}\s*<", result)]
