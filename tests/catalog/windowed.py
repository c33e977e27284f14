"""A DeepSeek-like catalog for the window tests: a CNY list book whose night window (00:30–08:30 Beijing,
every night) halves input and output, a cost book with the same window, a flex service tier and an image
price, and plans derived from the list by a 10% discount, one keeping the window and one dropping it."""

from datetime import UTC, datetime
from decimal import Decimal

from catalog.models import BookKind, PlanRule
from catalog.services.books import WindowSpec
from tests.catalog.factories import (
    AIModelFactory,
    PriceBookFactory,
    SellPlanFactory,
    add_prices,
    add_rule,
    tier,
)

# Every night, written as two rules (weekdays, weekend) as LiteLLM's map may give them.
NIGHT_RULES = [
    {"weekdays": [1, 2, 3, 4, 5], "start": "00:30", "end": "08:30"},
    {"weekdays": [6, 7], "start": "00:30", "end": "08:30"},
]
# 02:00 and 12:00 in Beijing on Wednesday 4 March 2026.
OFF_PEAK = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
PEAK = datetime(2026, 3, 4, 4, 0, tzinfo=UTC)


def night(**prices) -> WindowSpec:
    values = {name: Decimal(value) for name, value in prices.items()}
    return WindowSpec(label="Off-peak", time_zone="Asia/Shanghai", rules=NIGHT_RULES, **values)


def windowed_catalog() -> dict:
    model = AIModelFactory(name="deepseek-chat")
    listing = PriceBookFactory(name="DeepSeek list", kind=BookKind.LIST, currency="CNY")
    cost = PriceBookFactory(name="DeepSeek contract", kind=BookKind.COST, currency="CNY")
    add_prices(
        listing,
        model,
        tier(input="2", output="8", cache_read="0.5", image="0.04"),
        service_tiers=[("flex", [tier(input="1.2", output="4.8")])],
        windows=[night(input="1", output="4", cache_read="0.25")],
    )
    add_prices(cost, model, tier(input="1", output="4"), windows=[night(input="0.5", output="2")])
    keeps = SellPlanFactory(name="Night owl", currency="CNY")
    add_rule(keeps, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.1"))
    drops = SellPlanFactory(name="Flat", currency="CNY")
    add_rule(drops, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.1"), keep_windows=False)
    return {"model": model, "list": listing, "cost": cost, "keeps": keeps, "drops": drops}
