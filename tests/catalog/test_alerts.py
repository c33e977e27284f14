"""A cost or list change that makes a sell price lose money (or fall below the floor) is alerted."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import StaffRole
from catalog.models import BookKind, PlanRule, PriceAlert
from catalog.services.alerts import price_check_run
from catalog.services.imports.apply import ImportOptions, price_import_record, price_import_record_apply
from catalog.tasks import notify_price_alerts_task
from tests.catalog.factories import (
    AIModelFactory,
    PriceBookFactory,
    SellPlanFactory,
    add_prices,
    add_rule,
    tier,
)
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db
MAR = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def setup(db):
    model = AIModelFactory(name="kimi-k2.5")
    cost = PriceBookFactory(name="Moonshot contract", kind=BookKind.COST, currency="CNY")
    listing = PriceBookFactory(name="Moonshot list", kind=BookKind.LIST, currency="CNY")
    add_prices(cost, model, tier(input="3", output="16", cache_read="0.5"))
    add_prices(listing, model, tier(input="4", output="21", cache_read="0.7"))
    plan = SellPlanFactory(name="Undercut 20%", currency="CNY", margin_floor=Decimal("0.05"))
    add_rule(plan, PlanRule.Method.LIST_DISCOUNT, discount=Decimal("0.2"))
    return {"model": model, "plan": plan}


def cost_import(csv: str, user=None):
    options = ImportOptions(format="csv", book_name="Moonshot contract", kind="cost", effective_from=MAR)
    record, _preview = price_import_record(content=csv, options=options, user=user)
    return price_import_record_apply(record, user=user)


def test_profitable_plan_raises_nothing(setup):
    # list × 0.8 = 3.2 / 16.8 / 0.56 against cost 3 / 16 / 0.5: margins 6.25%, 4.8%, 10.7%
    result = price_check_run(trigger="test", at=MAR)
    # output (and reasoning, priced as output) earns 4.8%, under the 5% floor
    assert [(f.token_class, f.kind) for f in result.findings] == [
        ("output", PriceAlert.Kind.BELOW_FLOOR),
        ("reasoning", PriceAlert.Kind.BELOW_FLOOR),
    ]


def test_cost_rise_alerts_every_price_now_below_cost(setup, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        result = cost_import("model,input,output,cache_read\nkimi-k2.5,3.5,16,0.5\n")
    by_class = {(f.token_class, f.batch): f for f in result.findings}
    loss = by_class[("input", False)]
    assert (loss.kind, loss.sell_price, loss.cost_price) == (
        PriceAlert.Kind.LOSS,
        Decimal("3.2"),
        Decimal("3.5"),
    )
    assert "sells below cost" in loss.describe()
    open_alerts = PriceAlert.objects.filter(resolved_at__isnull=True)
    assert open_alerts.filter(token_class="input", kind=PriceAlert.Kind.LOSS).exists()
    assert open_alerts.filter(token_class="output", kind=PriceAlert.Kind.BELOW_FLOOR).exists()
    assert len(callbacks) == 1  # staff are told once the import commits


def test_alerts_resolve_when_the_cost_falls_back(setup):
    cost_import("model,input,output,cache_read\nkimi-k2.5,3.5,16,0.5\n")
    price_check_run(trigger="recheck", at=MAR)
    assert PriceAlert.objects.filter(resolved_at__isnull=True, token_class="input").count() == 1
    later = datetime(2026, 4, 1, tzinfo=UTC)
    options = ImportOptions(format="csv", book_name="Moonshot contract", kind="cost", effective_from=later)
    record, _ = price_import_record(
        content="model,input,output,cache_read\nkimi-k2.5,2,12,0.3\n", options=options
    )
    price_import_record_apply(record)
    price_check_run(trigger="after cut", at=later)
    assert not PriceAlert.objects.filter(resolved_at__isnull=True).exists()


def test_staff_are_emailed_the_new_alerts(setup):
    StaffFactory(staff_role=StaffRole.FINANCE, email="fei@example.com")
    StaffFactory(staff_role=StaffRole.SUPPORT, email="sue@example.com")
    result = cost_import("model,input,output,cache_read\nkimi-k2.5,3.5,16,0.5\n")
    sent = notify_price_alerts_task([a.pk for a in result.raised])
    assert sent == len(result.raised)
    assert mail.outbox[0].to == ["fei@example.com"]
    assert "Undercut 20% / kimi-k2.5" in mail.outbox[0].body


def test_tiers_cut_differently_are_compared_stretch_by_stretch(db):
    model = AIModelFactory()
    cost = PriceBookFactory(kind=BookKind.COST, currency="USD")
    sell = PriceBookFactory(kind=BookKind.SELL, currency="USD")
    add_prices(
        cost, model, tier(0, 100_000, input="1", output="1"), tier(100_000, None, input="3", output="1")
    )
    add_prices(
        sell, model, tier(0, 200_000, input="2", output="2"), tier(200_000, None, input="4", output="2")
    )
    plan = SellPlanFactory(currency="USD")
    add_rule(plan, PlanRule.Method.EXPLICIT, source_book=sell)
    findings = price_check_run(trigger="test", at=MAR).findings
    # prompts of 100,001–200,000 tokens cost 3 but sell at 2 (cache classes fall back to input)
    assert [(f.tier_lo, f.token_class, f.kind) for f in findings] == [
        (0, "input", PriceAlert.Kind.LOSS),
        (0, "cache_read", PriceAlert.Kind.LOSS),
        (0, "cache_write_5m", PriceAlert.Kind.LOSS),
        (0, "cache_write_1h", PriceAlert.Kind.LOSS),
    ]


def test_a_long_alert_e_mail_lists_the_first_twenty_and_counts_the_rest(db, mailoutbox):
    from catalog.models import PriceAlert
    from tests.catalog.factories import AIModelFactory, SellPlanFactory

    StaffFactory(staff_role=StaffRole.FINANCE, email="fei@example.com")
    plan, model = SellPlanFactory(currency="USD"), AIModelFactory()
    alerts = [
        PriceAlert.objects.create(
            plan=plan,
            model=model,
            tier_lo=n,
            token_class="input",
            batch=False,
            currency="USD",
            sell_price=Decimal("1"),
            cost_price=Decimal("2"),
            kind=PriceAlert.Kind.LOSS,
        )
        for n in range(25)
    ]

    assert notify_price_alerts_task([a.pk for a in alerts]) == 25

    body = mailoutbox[0].body
    assert mailoutbox[0].subject.endswith("25 price(s) now below cost or margin floor")
    assert body.count("\n- ") == 20
    assert "… and 5 more" in body
