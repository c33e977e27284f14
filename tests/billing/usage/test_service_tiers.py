"""Service tiers on the per-batch path: an event naming ``flex`` is rated at the flex prices on the sell and
the cost side; a tier the book does not price is rated at standard prices, as LiteLLM does.

Per million tokens (USD): sell 0.25 in / 2.00 out, flex 0.125 / 1.00; cost 0.20 / 1.60, flex 0.10 / 0.80.
Each event: 1,000 prompt and 500 completion tokens. By hand: standard sell 250 + 1000 = 1250 per million →
0.00125, flex 125 + 500 → 0.000625; cost 200 + 800 → 0.001, flex 100 + 400 → 0.0005.
"""

from decimal import Decimal

import pytest

from billing.usage.models import UsageEvent
from billing.usage.services import usage_batch_ingest
from catalog.models import AIModel, BookKind, PlanRule, PriceBook, SellPlan, Vendor
from catalog.services.plans import plan_assign, plan_rule_create
from tests.billing.usage.factories import AT, T0, customer_make, event, source_make
from tests.catalog.factories import add_prices, tier

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    vendor = Vendor.objects.create(name="OpenAI", slug="openai")
    model = AIModel.objects.create(vendor=vendor, name="gpt-5-mini")
    sell = PriceBook.objects.create(name="OpenAI sell", kind=BookKind.SELL, currency="USD")
    cost = PriceBook.objects.create(name="OpenAI cost", kind=BookKind.COST, currency="USD")
    add_prices(
        sell,
        model,
        tier(input="0.25", output="2.00"),
        effective_from=T0,
        service_tiers=[("flex", [tier(input="0.125", output="1.00")])],
    )
    add_prices(
        cost,
        model,
        tier(input="0.20", output="1.60"),
        effective_from=T0,
        service_tiers=[("flex", [tier(input="0.10", output="0.80")])],
    )
    plan = SellPlan.objects.create(name="OpenAI explicit", currency="USD")
    plan_rule_create(plan=plan, method=PlanRule.Method.EXPLICIT, source_book=sell, effective_from=T0)
    customer = customer_make(key="key-a", currency="USD")
    plan_assign(customer=customer, plan=plan, effective_from=T0)
    return source_make()[0]


@pytest.mark.parametrize(
    ("sent", "stored", "sell", "cost"),
    [
        (None, "", "0.00125", "0.001"),
        ("flex", "flex", "0.000625", "0.0005"),
        ("FLEX", "flex", "0.000625", "0.0005"),  # stored lower-cased, as LiteLLM compares it
        ("priority", "priority", "0.00125", "0.001"),  # not priced by this book: standard
        ("default", "default", "0.00125", "0.001"),
    ],
)
def test_an_event_is_rated_at_its_service_tier_prices_on_both_sides(world, sent, stored, sell, cost):
    extra = {} if sent is None else {"service_tier": sent}
    result = usage_batch_ingest(
        source=world, records=[event("r1", model="gpt-5-mini", prompt=1000, completion=500, **extra)]
    )
    assert (result.accepted, result.unrated) == (1, 0)
    row = UsageEvent.objects.get()
    assert row.service_tier == stored
    assert (row.sell_amount, row.cost_amount) == (Decimal(sell), Decimal(cost))
    assert row.occurred_at == AT


def test_a_service_tier_longer_than_its_column_is_a_row_error_and_the_good_rows_stay(world):
    result = usage_batch_ingest(
        source=world,
        records=[
            event("r1", model="gpt-5-mini", service_tier="x" * 21),
            event("r2", model="gpt-5-mini", service_tier="flex"),
        ],
    )
    assert (result.accepted, result.rejected) == (1, 1)
    assert result.errors == [{"index": 0, "field": "service_tier", "reason": "is longer than 20 characters"}]
    assert UsageEvent.objects.get().request_id == "r2"
