"""The usage overview's margin report in the base currency: each day converted at that day's rate."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.usage.services import usage_batch_ingest
from catalog.models import FxRate
from catalog.services.fx import fx_rate_set
from tests.billing.factories import staff
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import AT, customer_make, default_plan, event, plan_assign, priced_model

pytestmark = pytest.mark.django_db

PERIOD = {"start": "2026-05-01", "end": "2026-05-31"}
MILLION = 1_000_000


@pytest.fixture
def two_currencies(settings, source, prepaid, model):
    """CNY usage of 2.00 sold / 1.00 cost; USD usage of 10 sold / 6 cost on 4 May and again on 5 May."""
    settings.BASE_CURRENCY = "CNY"
    priced_model(
        "gpt-usd",
        currency="USD",
        cost_currency="USD",
        sell_input="10",
        sell_output="40",
        cost_input="6",
        cost_output="24",
        vendor_name="OpenAI",
    )
    usd = customer_make(key="key-usd", currency="USD")
    plan_assign(usd, default_plan("USD"))
    top_up(prepaid, Decimal("100"))
    top_up(usd, Decimal("100"), currency="USD")
    fx_rate_set(base="USD", quote="CNY", on=date(2026, 5, 1), rate=Decimal("7.00"))
    fx_rate_set(base="USD", quote="CNY", on=date(2026, 5, 5), rate=Decimal("7.20"))
    usage_batch_ingest(
        source=source,
        records=[
            event("c1", prompt=MILLION, completion=0),
            event("u1", key="key-usd", model="gpt-usd", prompt=MILLION, completion=0),
            event(
                "u2", key="key-usd", model="gpt-usd", at=AT + timedelta(days=1), prompt=MILLION, completion=0
            ),
        ],
    )


def test_the_overview_shows_sales_cost_and_margin_in_the_base_currency(client, two_currencies):
    client.force_login(staff(StaffRole.SALES))

    response = client.get(reverse("staff-usage"), {**PERIOD, "amounts": "base"})

    # USD: 10 × 7.00 + 10 × 7.20 = 142.00 sold, 6 × 7.00 + 6 × 7.20 = 85.20 cost; CNY: 2.00 and 1.00
    in_base = response.context["in_base"]
    assert (in_base.currency, in_base.sell, in_base.cost) == ("CNY", Decimal("144"), Decimal("86.2"))
    assert in_base.margin == Decimal("57.8")
    by_model = {row["model__name"]: row for row in in_base.by_model}
    assert (by_model["gpt-usd"]["sell"], by_model["gpt-usd"]["cost"]) == (Decimal("142"), Decimal("85.2"))
    assert by_model["deepseek-chat"]["margin"] == Decimal("1")
    assert in_base.missing == []
    page = response.content.decode()
    assert 'data-testid="usage-base-currency"' in page
    assert "at the exchange rate in force that day" in page
    # the per-currency report is unchanged
    assert {t["sell_currency"] for t in response.context["totals"].by_currency} == {"CNY", "USD"}


def test_without_the_option_no_base_figures_are_shown(client, two_currencies):
    client.force_login(staff(StaffRole.SALES))
    response = client.get(reverse("staff-usage"), PERIOD)
    assert "in_base" not in response.context
    assert 'data-testid="usage-base-currency"' not in response.content.decode()


def test_days_without_a_rate_are_left_out_and_named(client, two_currencies):
    FxRate.objects.filter(date=date(2026, 5, 1)).delete()  # 4 May now has no USD rate
    client.force_login(staff(StaffRole.FINANCE))
    response = client.get(reverse("staff-usage"), {**PERIOD, "amounts": "base"})
    in_base = response.context["in_base"]
    assert (in_base.sell, in_base.cost) == (Decimal("74"), Decimal("44.2"))  # CNY + 5 May's USD only
    assert in_base.missing == ["USD"]
    assert 'data-testid="base-missing-fx"' in response.content.decode()
