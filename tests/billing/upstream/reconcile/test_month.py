"""The synthetic month: every injected discrepancy found, classified right and valued; nothing else flagged;
re-running stores nothing new; a changed input makes a new run; a day not yet due is left out."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.terms.models import BillingTerms
from billing.upstream.models import ReconciliationLine, ReconciliationRun, ReconClass, VendorUsage
from billing.upstream.reconcile.run import ReconcileError, reconcile
from billing.usage.models import UsageEvent
from billing.usage.services import usage_batch_ingest
from catalog.models import PlanRule, SellPlan
from catalog.services.plans import plan_assign, plan_create
from tests.billing.upstream.reconcile.conftest import (
    AFTER_JUNE,
    INJECTED,
    JUNE,
    X,
    customer_with_key,
    request,
    vendor_month,
    vendor_rows_store,
)
from tests.catalog.factories import EPOCH, add_rule
from tests.factories import SubDistributorFactory

pytestmark = pytest.mark.django_db


def _june(**kwargs):
    return reconcile(date_from=JUNE[0], date_to=JUNE[-1], now=AFTER_JUNE, **kwargs)


def flagged(run) -> dict[tuple[int, str], tuple[str, Decimal]]:
    return {
        (line.day.day, line.model_name): (line.klass, line.value)
        for line in run.lines.exclude(klass=ReconClass.MATCHED)
    }


def expected_flags() -> dict[tuple[int, str], tuple[str, Decimal]]:
    return {
        (day, model): (klass, value)
        for day, (klass, lines) in INJECTED.items()
        for model, value in lines.items()
    }


def test_each_injected_discrepancy_is_found_classified_and_valued_and_nothing_else(month):
    vendor_rows_store(month.channel, vendor_month())

    outcome = _june()

    run = outcome.run
    assert run.state == ReconciliationRun.State.DONE and outcome.created
    assert flagged(run) == expected_flags()
    # every other line matches: 60 of ours and the vendor's gpt-y, less the 9 flagged
    matched = run.lines.filter(klass=ReconClass.MATCHED)
    assert matched.count() == 61 - 9
    assert {line.model_name for line in matched} == {"gpt-x", "gpt-mini"}
    classes = run.totals["classes"]
    assert classes["model_mismatch"] == {"lines": 2, "value": "1.250000000000"}
    assert classes["matched"]["lines"] == 52
    assert Decimal(run.totals["at_stake"]) == sum(v for _k, v in expected_flags().values())


def test_a_line_keeps_both_sides_figures(month):
    vendor_rows_store(month.channel, vendor_month())

    run = _june().run

    drift = run.lines.get(klass=ReconClass.TOKEN_DRIFT)
    assert drift.ours["output"] == 200_000 and drift.theirs["output"] == 220_000
    assert drift.ours["cost"] == "2.65" and drift.theirs["cost"] == "2.81"
    assert drift.ours["input"] == 500_000 and drift.ours["cache_read"] == 100_000
    missing = run.lines.filter(klass=ReconClass.MISSING_UPSTREAM_DATA)
    assert all(line.theirs == {} for line in missing)


def test_rerunning_with_the_same_inputs_stores_nothing_new(month):
    vendor_rows_store(month.channel, vendor_month())
    first = _june()
    runs, lines = ReconciliationRun.objects.count(), ReconciliationLine.objects.count()

    again = _june(kind=ReconciliationRun.Kind.DAILY)

    assert not again.created and again.run.pk == first.run.pk
    assert (ReconciliationRun.objects.count(), ReconciliationLine.objects.count()) == (runs, lines)


def test_a_changed_input_makes_a_new_run(month):
    vendor_rows_store(month.channel, vendor_month())
    first = _june().run
    # the vendor's late correction of the drifting day
    fixed = VendorUsage.objects.filter(day=date(2026, 6, 4), model_name="gpt-x")
    fixed.update(output_tokens=200_000, cost=Decimal("2.65"))

    second = _june()

    assert second.created and second.run.pk != first.pk
    assert second.run.lines.get(day=date(2026, 6, 4), model_name="gpt-x").klass == ReconClass.MATCHED
    assert first.lines.get(day=date(2026, 6, 4), model_name="gpt-x").klass == ReconClass.TOKEN_DRIFT


def test_a_day_not_yet_due_is_left_out(month):
    vendor_rows_store(month.channel, vendor_month())

    # June 30 ends at July 1 00:00 UTC; with the 24 h lag it is due at July 2 00:00, June 29 at July 1
    outcome = reconcile(date_from=JUNE[0], date_to=JUNE[-1], now=datetime(2026, 7, 1, 23, 59, tzinfo=UTC))

    days = set(outcome.run.lines.values_list("day", flat=True))
    assert date(2026, 6, 29) in days and date(2026, 6, 30) not in days
    assert outcome.not_due == 1
    on_time = reconcile(date_from=JUNE[-1], date_to=JUNE[-1], now=datetime(2026, 7, 2, tzinfo=UTC))
    assert on_time.not_due == 0 and on_time.run.lines.count() == 2


def test_the_lag_is_the_channels(month):
    month.channel.reporting_lag_hours = 48
    month.channel.save()
    vendor_rows_store(month.channel, vendor_month())

    outcome = reconcile(date_from=JUNE[-1], date_to=JUNE[-1], now=datetime(2026, 7, 2, 23, tzinfo=UTC))

    assert outcome.not_due == 1 and outcome.run.lines.count() == 0


def test_a_request_sold_down_the_chain_counts_once_at_its_top_hop(month):
    """A reseller's customer's request is stored once per hop; only the operator's sale (the row of the
    customer without a seller) is ours against the vendor."""
    shop = SubDistributorFactory(code="shop")
    BillingTerms.objects.create(
        customer=shop, mode=BillingTerms.Mode.MONTHLY, currency="CNY", credit_limit=Decimal("100000")
    )
    plan_assign(
        customer=shop, plan=SellPlan.objects.get(owner=None, name="Cost plus CNY"), effective_from=EPOCH
    )
    retail = plan_create(name="Shop retail", currency="CNY", owner=shop)
    add_rule(retail, PlanRule.Method.WHOLESALE_MARKUP, markup=Decimal("0.25"))
    end = customer_with_key("end", parent=shop)
    plan_assign(customer=end, plan=retail, effective_from=EPOCH)
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    usage_batch_ingest(
        source=month.source,
        records=[request(end, "1", at, "gpt-x", "openai-main", X)],
        idempotency_key="via-shop",
    )
    assert UsageEvent.objects.filter(request_id="end-1").count() == 2  # the end customer's and the shop's
    rows = vendor_month()
    for row in rows:
        if (row.day.day, row.model) == (1, "gpt-x"):
            row.requests, row.input, row.cache_read, row.output = 2, 1_000_000, 200_000, 400_000
            row.cost = Decimal("5.30")
    vendor_rows_store(month.channel, rows)

    run = _june().run

    line = run.lines.get(day=date(2026, 6, 1), model_name="gpt-x")
    assert line.klass == ReconClass.MATCHED and line.ours["requests"] == 2
    assert line.ours["cost"] == "5.3"


def test_a_bad_range_is_refused_and_stores_nothing(month):
    with pytest.raises(ReconcileError, match="starts"):
        reconcile(date_from=date(2026, 6, 30), date_to=date(2026, 6, 1))
    with pytest.raises(ReconcileError, match="366"):
        reconcile(date_from=date(2025, 1, 1), date_to=date(2026, 6, 1))
    assert not ReconciliationRun.objects.exists()
