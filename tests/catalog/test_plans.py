"""Plan resolution: inheritance down the tree, defaults per currency, derivation, FX, overlaps."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Customer
from catalog.errors import MissingFxRate, NoPlan
from catalog.models import BookKind, PlanRule
from catalog.rating import Usage, rate
from catalog.selectors.pricing import PricingSnapshot, plan_for_customer
from catalog.selectors.quotes import quote
from catalog.services.fx import fx_rate_set, fx_rates_import_csv
from catalog.services.plans import plan_assign
from tests.catalog.factories import (
    EPOCH,
    AIModelFactory,
    PriceBookFactory,
    SellPlanFactory,
    VendorFactory,
    add_prices,
    add_rule,
    tier,
)
from tests.factories import BillingTermsFactory, CustomerFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 1, tzinfo=UTC)


def test_nearest_assignment_up_the_tree_wins():
    # Direct sub-distributors only group: the operator prices the subtree (resale: test_retail_plans).
    top = SubDistributorFactory(name="Reseller", chain_mode=Customer.ChainMode.DIRECT)
    middle = SubDistributorFactory(parent=top, chain_mode=Customer.ChainMode.DIRECT)
    leaf = CustomerFactory(parent=middle)
    wholesale, special = SellPlanFactory(name="Wholesale"), SellPlanFactory(name="Special")
    plan_assign(customer=top, plan=wholesale, effective_from=EPOCH)
    assert plan_for_customer(leaf, NOW) == (wholesale, "inherited from Reseller")
    plan_assign(customer=leaf, plan=special, effective_from=EPOCH)
    assert plan_for_customer(leaf, NOW) == (special, "assigned")
    assert plan_for_customer(middle, NOW)[0] == wholesale


def test_default_plan_follows_the_billing_currency():
    usd, cny = (
        SellPlanFactory(currency="USD", is_default=True),
        SellPlanFactory(currency="CNY", is_default=True),
    )
    assert plan_for_customer(BillingTermsFactory(currency="USD").customer, NOW) == (usd, "default")
    assert plan_for_customer(BillingTermsFactory(currency="CNY").customer, NOW) == (cny, "default")
    # no default in EUR: the operator's base currency (CNY) default applies
    assert plan_for_customer(BillingTermsFactory(currency="EUR").customer, NOW)[0] == cny


def test_no_plan_at_all_is_an_explicit_error():
    with pytest.raises(NoPlan):
        plan_for_customer(CustomerFactory(), NOW)


def test_a_new_assignment_ends_the_open_one_and_overlaps_are_refused():
    customer = CustomerFactory()
    a, b = SellPlanFactory(), SellPlanFactory()
    first = plan_assign(customer=customer, plan=a, effective_from=EPOCH)
    plan_assign(customer=customer, plan=b, effective_from=NOW)
    first.refresh_from_db()
    assert first.effective_to == NOW
    with pytest.raises(ValidationError) as exc:
        plan_assign(
            customer=customer, plan=a, effective_from=datetime(2026, 1, 1, tzinfo=UTC), effective_to=NOW
        )
    assert "overlaps the existing span(s) 2025-01-01 00:00–2026-05-01 00:00" in exc.value.messages[0]


def test_most_specific_rule_wins_model_then_vendor_then_all():
    vendor = VendorFactory()
    m1, m2, other = AIModelFactory(vendor=vendor), AIModelFactory(vendor=vendor), AIModelFactory()
    cost = PriceBookFactory(kind=BookKind.COST)
    for m in (m1, m2, other):
        add_prices(cost, m, tier(input="10", output="10"))
    plan = SellPlanFactory()
    add_rule(plan, PlanRule.Method.COST_MARKUP, markup=Decimal("0.1"))
    add_rule(plan, PlanRule.Method.COST_MARKUP, markup=Decimal("0.2"), vendor=vendor)
    add_rule(plan, PlanRule.Method.COST_MARKUP, markup=Decimal("0.3"), model=m1)
    snapshot = PricingSnapshot(NOW)
    assert [snapshot.plan_price(plan, m).sell.tiers[0].input for m in (m1, m2, other)] == [
        Decimal("13"),
        Decimal("12"),
        Decimal("11"),
    ]


def test_overlapping_rules_for_one_scope_are_refused():
    plan = SellPlanFactory()
    add_rule(plan, PlanRule.Method.COST_MARKUP, markup=Decimal("0.1"))
    with pytest.raises(ValidationError) as exc:
        add_rule(plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.1"), effective_from=NOW)
    assert "The rule for all models" in exc.value.messages[0]


def test_rule_source_book_must_be_of_the_right_kind():
    with pytest.raises(ValidationError) as exc:
        add_rule(
            SellPlanFactory(), PlanRule.Method.EXPLICIT, source_book=PriceBookFactory(kind=BookKind.LIST)
        )
    assert "needs a sell book" in exc.value.messages[0]


def test_usd_cost_against_a_cny_plan_converts_at_the_event_dates_rate():
    model = AIModelFactory(name="gpt-x")
    cost = PriceBookFactory(kind=BookKind.COST, currency="USD")
    add_prices(cost, model, tier(input="2", output="8"))
    plan = SellPlanFactory(name="CNY plan", currency="CNY")
    add_rule(plan, PlanRule.Method.COST_MARKUP, markup=Decimal("0.1"))
    fx_rate_set(base="USD", quote="CNY", on=date(2026, 1, 1), rate=Decimal("7.1"))
    fx_rate_set(base="USD", quote="CNY", on=date(2026, 3, 1), rate=Decimal("7.2"))
    usage = Usage(prompt_tokens=1_000_000, at=datetime(2026, 2, 15, tzinfo=UTC))
    result = quote(model_name="gpt-x", usage=usage, plan_name="CNY plan")
    assert result.currency == "CNY"
    assert result.total == Decimal("15.62")  # 2 × 7.1 × 1.1
    assert result.cost.total == Decimal("14.2")
    later = quote(model_name="gpt-x", usage=Usage(prompt_tokens=1_000_000, at=NOW), plan_name="CNY plan")
    assert later.total == Decimal("15.84")  # 2 × 7.2 × 1.1
    with pytest.raises(MissingFxRate):
        quote(
            model_name="gpt-x",
            usage=Usage(prompt_tokens=1, at=datetime(2025, 12, 31, tzinfo=UTC)),
            plan_name="CNY plan",
        )


def test_explicit_sell_book_in_another_currency_converts_too():
    model = AIModelFactory(name="m")
    sell = PriceBookFactory(kind=BookKind.SELL, currency="USD")
    add_prices(sell, model, tier(input="1", output="1"))
    plan = SellPlanFactory(currency="CNY")
    add_rule(plan, PlanRule.Method.EXPLICIT, source_book=sell)
    fx_rate_set(base="USD", quote="CNY", on=date(2025, 1, 1), rate=Decimal("7"))
    price = PricingSnapshot(NOW).plan_price(plan, model)
    assert rate(price.sell, Usage(prompt_tokens=1_000_000)).total == Decimal("7")
    assert price.cost is None and "No cost price" in price.warnings[0]


def test_fx_csv_import_is_all_or_nothing_with_row_and_field():
    good = "date,base,quote,rate\n2026-01-01,USD,CNY,7.1\n"
    assert len(fx_rates_import_csv(good)) == 1
    with pytest.raises(ValidationError) as exc:
        fx_rates_import_csv(good.replace("7.1", "7.2") + "2026-02-01,USD,usd,7\n2026-03-01,USD,CNY,-1\n")
    assert exc.value.messages == [
        "Row 3, field quote: Base and quote currencies must differ.",
        "Row 4, field rate: The rate must be greater than zero.",
    ]
    from catalog.models import FxRate

    assert FxRate.objects.get().rate == Decimal("7.1")
