"""The classification's rules on plain figures (tolerance boundaries, which class wins, the values), and
on the database: tolerances from the settings, a USD vendor against CNY customers through dated rates, a
missing rate, and a vendor day that does not start on the hour."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.upstream.models import ReconciliationRun, ReconClass, UpstreamSettings
from billing.upstream.reconcile.classify import Tolerances, classify_day
from billing.upstream.reconcile.figures import Figures
from billing.upstream.reconcile.run import reconcile
from billing.upstream.reconcile.windows import day_spans, on_hours
from billing.usage.services import usage_batch_ingest
from catalog.models import FxRate
from tests.billing.upstream.reconcile.conftest import (
    AFTER_JUNE,
    JUNE,
    MINI,
    X,
    our_month,
    request,
    vendor_month,
    vendor_rows_store,
    world_make,
)

OURS = Figures(requests=10, input=500_000, cache_read=100_000, output=200_000, cost=Decimal("2.65"))
RELATIVE = Tolerances(token=Decimal("0.01"), token_abs=0, request=Decimal("0.01"), cost=Decimal("0.01"))
ABSOLUTE = Tolerances(token=Decimal(0), token_abs=1000, request=Decimal("0.01"), cost=Decimal("0.01"))


def price(model: str, f: Figures) -> Decimal:
    """gpt-x's contract cost: input 2, cache read 0.5, output 8 per million."""
    return (f.input * 2 + f.cache_read * Decimal("0.5") + f.output * 8) / Decimal(1_000_000)


def one(theirs: Figures, ours: Figures = OURS, tol: Tolerances = RELATIVE):
    [verdict] = classify_day(
        ours={"gpt-x": ours}, theirs={"gpt-x": theirs}, reported=True, tolerances=tol, price=price
    )
    return verdict.klass, verdict.value


def vendor(**changes) -> Figures:
    base = {
        "requests": 10,
        "input": 500_000,
        "cache_read": 100_000,
        "output": 200_000,
        "cost": Decimal("2.65"),
    }
    return Figures(**{**base, **changes})


@pytest.mark.parametrize(
    ("output", "klass"),
    [
        (202_020, ReconClass.MATCHED),  # 2,020 apart ≤ 1% of 202,020 (2,020.2)
        (202_021, ReconClass.TOKEN_DRIFT),  # 2,021 apart > 2,020.21
        (198_000, ReconClass.MATCHED),  # 2,000 apart = 1% of 200,000: at the limit agrees
        (197_999, ReconClass.TOKEN_DRIFT),
    ],
)
def test_relative_token_tolerance_boundaries(output, klass):
    assert one(vendor(output=output))[0] == klass


@pytest.mark.parametrize(("extra", "klass"), [(1000, ReconClass.MATCHED), (1001, ReconClass.TOKEN_DRIFT)])
def test_absolute_token_tolerance_boundaries(extra, klass):
    assert one(vendor(output=200_000 + extra), tol=ABSOLUTE)[0] == klass


@pytest.mark.parametrize(
    ("cost", "klass"),
    [
        (Decimal("2.6765"), ReconClass.MATCHED),  # 0.0265 apart ≤ 1% of 2.6765
        (Decimal("2.677"), ReconClass.PRICE_MISMATCH),  # 0.027 apart > 0.02677
        (Decimal("2.6235"), ReconClass.MATCHED),  # 0.0265 apart = 1% of 2.65
        (Decimal("2.6234"), ReconClass.PRICE_MISMATCH),
    ],
)
def test_cost_tolerance_boundaries(cost, klass):
    found, value = one(vendor(cost=cost))
    assert found == klass
    assert value == (abs(cost - Decimal("2.65")) if klass == ReconClass.PRICE_MISMATCH else 0)


def test_cache_split_boundaries_and_value():
    # 1% of the larger cache-read count: 101,000 vs 100,000 agrees; moving 1,011 tokens does not
    assert one(vendor(input=499_000, cache_read=101_000))[0] == ReconClass.MATCHED
    klass, value = one(vendor(input=498_989, cache_read=101_011))
    assert klass == ReconClass.CACHE_MISMATCH
    # 1,011 tokens priced 0.5 instead of 2 per million
    assert value == Decimal("1011") * Decimal("1.5") / Decimal(1_000_000)


def test_a_vendor_without_cache_counts_compares_total_input_only():
    no_cache = vendor(input=600_000, cache_read=0, has_cache_counts=False)
    assert one(no_cache)[0] == ReconClass.MATCHED
    klass, value = one(vendor(input=660_000, cache_read=0, has_cache_counts=False))
    # 60,000 more input tokens, split as ours (5/6 uncached at 2, 1/6 cache reads at 0.5 per million)
    assert (klass, value) == (ReconClass.TOKEN_DRIFT, Decimal("0.105"))


def test_more_requests_and_tokens_on_either_side_say_who_missed_them():
    assert one(vendor(requests=12, output=240_000))[0] == ReconClass.UNBILLED_USAGE
    assert one(vendor(requests=8, output=160_000))[0] == ReconClass.NO_UPSTREAM_RECORD
    # requests within 1% (or not reported at all, as Anthropic's report): the counting differs
    assert one(vendor(requests=10, output=240_000))[0] == ReconClass.TOKEN_DRIFT
    assert one(vendor(requests=0, output=240_000))[0] == ReconClass.TOKEN_DRIFT
    # requests alone differ, tokens agree: nothing is at stake
    assert one(vendor(requests=12)) == (ReconClass.MATCHED, 0)


def test_model_mismatch_needs_a_comparable_size():
    ours = {"gpt-x": OURS}
    for tokens, expected in ((800_000, ReconClass.MODEL_MISMATCH), (1_700_000, ReconClass.UNBILLED_USAGE)):
        theirs = {"gpt-y": Figures(requests=10, input=tokens - 200_000, output=200_000, cost=Decimal("1"))}
        verdicts = {
            v.model_name: v.klass
            for v in classify_day(ours=ours, theirs=theirs, reported=True, tolerances=RELATIVE, price=price)
        }
        assert verdicts["gpt-y"] == expected
        assert verdicts["gpt-x"] == (
            ReconClass.MODEL_MISMATCH
            if expected == ReconClass.MODEL_MISMATCH
            else ReconClass.NO_UPSTREAM_RECORD
        )


def test_model_mismatch_against_a_models_excess():
    """The vendor shows our gpt-mini twice over and no gpt-x: the excess is what gpt-x was served as."""
    mini = Figures(requests=10, input=700_000, output=100_000, cost=Decimal("0.55"))
    theirs = {"gpt-mini": Figures(requests=20, input=1_400_000, output=200_000, cost=Decimal("1.10"))}
    verdicts = classify_day(
        ours={"gpt-x": OURS, "gpt-mini": mini}, theirs=theirs, reported=True, tolerances=RELATIVE, price=price
    )
    assert {v.model_name: (v.klass, v.value) for v in verdicts} == {
        "gpt-x": (ReconClass.MODEL_MISMATCH, Decimal("2.65") - Decimal("0.55")),
        "gpt-mini": (ReconClass.MODEL_MISMATCH, 0),
    }


def test_nothing_from_the_vendor_for_the_day_is_missing_data_for_every_model():
    verdicts = classify_day(ours={"gpt-x": OURS}, theirs={}, reported=False, tolerances=RELATIVE, price=price)
    assert [(v.klass, v.value) for v in verdicts] == [(ReconClass.MISSING_UPSTREAM_DATA, Decimal("2.65"))]


@pytest.mark.django_db
def test_the_tolerances_are_the_settings(month):
    rows = vendor_month()
    for row in rows:
        if (row.day.day, row.model) == (4, "gpt-x"):
            row.cost = Decimal("2.65")
    vendor_rows_store(month.channel, rows)
    settings = UpstreamSettings.load()
    settings.token_tolerance, settings.token_tolerance_abs = Decimal("0.1"), 0
    settings.save()

    run = reconcile(date_from=JUNE[3], date_to=JUNE[3], now=AFTER_JUNE).run

    # 20,000 more output of 220,000 is within 10%
    assert run.lines.get(model_name="gpt-x").klass == ReconClass.MATCHED


@pytest.mark.django_db
def test_a_usd_vendor_against_cny_customers_is_valued_through_the_dated_rates():
    for on, rate in ((date(2026, 5, 1), "7.10"), (date(2026, 6, 15), "7.20")):
        FxRate.objects.create(base="USD", quote="CNY", date=on, rate=Decimal(rate))
    world = world_make(currency="USD", sell_currency="CNY", name="openai-usd")
    our_month(world)
    rows = vendor_month()
    for row in rows:
        if row.day.day == 20 and row.model == "gpt-x":  # the same drift again, after the rate changed
            row.output, row.cost = 220_000, Decimal("2.81")
    vendor_rows_store(world.channel, rows, currency="USD")

    run = reconcile(date_from=JUNE[0], date_to=JUNE[-1], now=AFTER_JUNE).run

    assert run.base_currency == "CNY"
    drift = {line.day.day: line for line in run.lines.filter(klass=ReconClass.TOKEN_DRIFT)}
    assert set(drift) == {4, 20}
    # 20,000 output tokens at USD 8 per million: USD 0.16, at each day's rate
    assert drift[4].value == Decimal("0.16") * Decimal("7.10")
    assert drift[20].value == Decimal("0.16") * Decimal("7.20")
    assert drift[4].ours["currency"] == "USD" and drift[4].ours["cost"] == "2.65"
    assert run.lines.get(day=date(2026, 6, 3), model_name="gpt-x").value == Decimal("2.65") * Decimal("7.10")
    assert run.lines.exclude(klass=ReconClass.MATCHED).count() == 10


@pytest.mark.django_db
def test_a_missing_rate_fails_the_run_saying_which():
    FxRate.objects.create(base="USD", quote="CNY", date=date(2026, 5, 1), rate=Decimal("7.1"))
    world = world_make(currency="USD", sell_currency="CNY", name="openai-usd")
    our_month(world, days=JUNE[:2])
    vendor_rows_store(world.channel, vendor_month(days=JUNE[:2]), currency="USD")
    FxRate.objects.all().delete()

    outcome = reconcile(date_from=JUNE[0], date_to=JUNE[1], now=AFTER_JUNE)

    assert outcome.run.state == ReconciliationRun.State.FAILED
    assert "No USD→CNY exchange rate" in outcome.run.error
    assert not outcome.run.lines.exists()


def test_a_zone_off_the_hour_is_not_on_the_hour():
    def spans(day, zone):
        return [span for pieces in day_spans(zone, [day], {}).values() for span in pieces]

    assert on_hours(spans(date(2026, 6, 1), "Asia/Shanghai")) and on_hours(
        spans(date(2026, 3, 8), "America/New_York")
    )
    assert not on_hours(spans(date(2026, 6, 1), "Asia/Kolkata"))


@pytest.mark.django_db
def test_a_vendor_day_off_the_hour_is_summed_from_the_raw_events():
    """Kolkata's day starts at 18:30 UTC: the 18:00 UTC hour holds the end of one vendor day and the start
    of the next, so the raw events are read and each request lands on its own day."""
    world = world_make(zone="Asia/Kolkata", name="kimi-in")
    before = datetime(2026, 6, 1, 18, 15, tzinfo=UTC)  # 23:45 on June 1 in Kolkata
    after = datetime(2026, 6, 1, 18, 45, tzinfo=UTC)  # 00:15 on June 2
    records = [
        request(world.customer, "late", before, "gpt-mini", "kimi-in", MINI),
        request(world.customer, "early", after, "gpt-x", "kimi-in", X),
    ]
    usage_batch_ingest(source=world.source, records=records, idempotency_key="kolkata")

    run = reconcile(date_from=date(2026, 6, 1), date_to=date(2026, 6, 2), now=AFTER_JUNE).run

    lines = {(line.day.day, line.model_name): line.ours["requests"] for line in run.lines.all()}
    assert lines == {(1, "gpt-mini"): 1, (2, "gpt-x"): 1}
