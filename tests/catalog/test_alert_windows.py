"""Price alerts compare time-of-day prices: a night sell price under a cost that has no night price is a
loss, and a night price is compared with the night cost, never with the day's (no false alarms)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from catalog.models import BookKind, PlanRule, PriceAlert, PriceWindow
from catalog.rating import PriceSchedule, TierPrices, TimeWindow
from catalog.services.alerts import price_check_run
from catalog.time_windows import window_pairs
from tests.catalog.factories import (
    AIModelFactory,
    PriceBookFactory,
    SellPlanFactory,
    add_prices,
    add_rule,
    tier,
)

pytestmark = pytest.mark.django_db
DEC = datetime(2026, 12, 7, tzinfo=UTC)
NIGHTS_AND_WEEKENDS = [
    {"weekdays": [1, 2, 3, 4, 5], "start": "00:30", "end": "08:30"},
    {"weekdays": [6, 7], "start": "00:00", "end": "00:00"},
]


def window(entry, **prices):
    return PriceWindow.objects.create(
        entry=entry, label="Off-peak", time_zone="Asia/Shanghai", rules=NIGHTS_AND_WEEKENDS, **prices
    )


@pytest.fixture
def deepseek(db):
    model = AIModelFactory(name="deepseek-chat")
    listing = PriceBookFactory(name="DeepSeek list", kind=BookKind.LIST, currency="CNY")
    window(add_prices(listing, model, tier(input="2", output="8")), input=Decimal("1"), output=Decimal("4"))
    plan = SellPlanFactory(name="List less 10%", currency="CNY", margin_floor=Decimal("0"))
    add_rule(plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.1"))
    return model


def test_a_night_price_below_a_flat_cost_is_a_loss_at_night_only(deepseek):
    cost = PriceBookFactory(name="DeepSeek contract", kind=BookKind.COST, currency="CNY")
    add_prices(cost, deepseek, tier(input="1.5", output="6"))
    result = price_check_run(trigger="test", at=DEC)
    found = {(f.token_class, f.window, f.kind) for f in result.findings}
    # 0.9 < 1.5 and 3.6 < 6 at night; 1.8 and 7.2 by day earn their margin.
    assert ("input", "Off-peak", PriceAlert.Kind.LOSS) in found
    assert ("output", "Off-peak", PriceAlert.Kind.LOSS) in found
    assert not any(w == "" for _c, w, _k in found)
    alert = PriceAlert.objects.get(token_class="input", window="Off-peak")
    assert (alert.sell_price, alert.cost_price) == (Decimal("0.9"), Decimal("1.5"))


def test_a_night_price_is_compared_with_the_night_cost(deepseek):
    cost = PriceBookFactory(name="DeepSeek contract", kind=BookKind.COST, currency="CNY")
    entry = add_prices(cost, deepseek, tier(input="1.5", output="6"))
    window(entry, input=Decimal("0.7"), output=Decimal("2.8"))
    result = price_check_run(trigger="test", at=DEC)
    # Night sells 0.9/3.6 against night cost 0.7/2.8, day 1.8/7.2 against 1.5/6: no loss anywhere,
    # though night sell (0.9) is under the day cost (1.5): those hours never meet.
    assert result.findings == []


def test_window_pairs_cut_the_week_where_either_side_changes():
    def schedule(zone, rules):
        return PriceSchedule(
            book="b",
            kind="list",
            currency="CNY",
            model="m",
            tiers=(TierPrices(0, None, Decimal(1), Decimal(1)),),
            windows=(TimeWindow("W", zone, rules, input=Decimal("0.5")),) if rules else (),
        )

    night_shanghai = schedule("Asia/Shanghai", ((0b11111, 0, 8 * 60),))
    flat = schedule("UTC", ())
    assert window_pairs(night_shanghai, flat, DEC) == {(-1, -1), (0, -1)}
    # The same hours written in UTC (16:00–24:00 the day before) meet the Shanghai ones except on the
    # week's edges (Monday 00:00–08:00 Shanghai is Sunday evening in UTC, which the UTC rule lacks).
    night_utc = schedule("UTC", ((0b11111, 16 * 60, 0),))
    assert window_pairs(night_shanghai, night_utc, DEC) == {(-1, -1), (0, 0), (0, -1), (-1, 0)}
    assert window_pairs(flat, flat, DEC) == {(-1, -1)}


def test_a_service_tier_or_image_price_below_cost_is_a_loss(db):
    """A flex sell price under the flex cost, and a per-image price under its cost, alert like any price;
    a tier the cost side lacks is compared with the cost's standard price (what rating charges)."""
    model = AIModelFactory(name="gpt-5")
    listing = PriceBookFactory(name="OpenAI list", kind=BookKind.LIST, currency="USD")
    cost = PriceBookFactory(name="OpenAI contract", kind=BookKind.COST, currency="USD")
    add_prices(
        listing,
        model,
        tier(input="1.25", output="10", image="0.04"),
        service_tiers=[("flex", [tier(input="0.625", output="5", image="0.04")])],
    )
    add_prices(
        cost,
        model,
        tier(input="1", output="8", image="0.05"),
        service_tiers=[("priority", [tier(input="2", output="16", image="0.05")])],
    )
    plan = SellPlanFactory(name="Open list", currency="USD", margin_floor=Decimal("0"))
    add_rule(plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0"))
    found = {(f.service_tier, f.token_class, f.kind) for f in price_check_run(trigger="t", at=DEC).findings}
    # Standard: the image sells at 0.04 and costs 0.05. Flex: 0.625 < 1 (the cost has no flex tier).
    assert ("", "image", PriceAlert.Kind.LOSS) in found
    assert ("flex", "input", PriceAlert.Kind.LOSS) in found and (
        "flex",
        "output",
        PriceAlert.Kind.LOSS,
    ) in found
    # Priority: the sell side has none, so a priority request pays the standard 1.25 against a cost of 2.
    assert ("priority", "input", PriceAlert.Kind.LOSS) in found
    assert ("", "input", PriceAlert.Kind.LOSS) not in found
    assert PriceAlert.objects.filter(service_tier="flex", token_class="input").exists()
