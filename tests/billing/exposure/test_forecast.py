"""The forecast: the trend by hand, the upstream cash need, collections weighting, the float curve."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.exposure.balances import figures_by_currency
from billing.exposure.forecast import float_curve, forecast
from billing.exposure.forecast_collections import HISTORY, MATRIX, expected_collections, month_ends
from billing.exposure.forecast_upstream import ChannelNeed, Trend, channel_needs, postpaid_schedule, trend_fit
from billing.fx.rates import BaseRates
from billing.receivables.services import payment_record
from tests.billing.factories import staff
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.billing.upstream.ledger.conftest import buy, channel, model, postpaid_channel, usage  # noqa: F401
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
D = Decimal
ZERO = D(0)


def test_least_squares_trend_by_hand():
    # 1, 2, 3, 4 on x = 0…3: slope 1, intercept 1; today is x = 4 (5), tomorrow x = 5 (6)
    trend = trend_fit([D(1), D(2), D(3), D(4)])
    assert (trend.slope, trend.intercept, trend.days) == (D(1), D(1), 4)
    assert trend.today() == D(5)
    assert trend.ahead(2) == [D(6), D(7)]
    # a falling trend never projects negative consumption
    assert trend_fit([D(3), D(2), D(1)]).ahead(3) == [ZERO, ZERO, ZERO]
    # flat: the mean; nothing: zero
    assert trend_fit([D(3), D(3)]).ahead(1) == [D(3)]
    assert trend_fit([]).ahead(2) == [ZERO, ZERO]


def test_prepaid_channel_projection_and_top_up(channel, usage):  # noqa: F811 (fixtures)
    """Day i of a 28-day window (oldest i = 0) uses i + 1 requests at 0.003: a trend of slope 0.003 and
    intercept 0.003, so tomorrow (x = 29) costs 0.090 and the next 7 days 0.003 × (30 + … + 36) = 0.693.
    The prepaid balance 0.5 lasts 5 days (0.480), runs out on the 6th; the top-up is 0.693 − 0.5 = 0.193."""
    today = timezone.localdate()
    buy(channel, "TOPUP", "1.73", kind="prepayment", bought=today - timedelta(days=40))
    for i in range(28):
        usage(today - timedelta(days=28 - i), i + 1)  # draws 0.003 × 406 = 1.218 of the 1.73
    usage(today, 4)  # not in the window (today is not over), but it draws 0.012: 0.5 is left

    need = channel_needs(today, window=28, horizon=7)[0]

    assert need.trend.slope.quantize(D("0.000001")) == D("0.003000")
    assert need.trend.intercept.quantize(D("0.000001")) == D("0.003000")
    assert need.consumption.quantize(D("0.000001")) == D("0.693000")
    assert need.balance == D("0.5")
    assert need.runs_out_on == today + timedelta(days=6)
    assert need.top_up.quantize(D("0.000001")) == D("0.193000")
    assert need.to_fund.quantize(D("0.000001")) == D("0.193000")


def test_postpaid_schedule_bills_each_month_on_the_first_and_pays_after_the_terms():
    """Accrued 10 of which 4 this month: 6 is billed at once (due 4 April); this month's 4 and the
    projected 1 a day of 26–31 March are billed on 1 April (due 11 April); April's usage is billed on
    1 May, beyond the horizon (14 April)."""
    today = date(2026, 3, 25)
    need = ChannelNeed(
        channel=None,
        currency="CNY",
        prepaid=False,
        trend=Trend(ZERO, D(1), 28),
        consumption=D(20),
        balance=ZERO,
        accrued=D(10),
        bills_due=ZERO,
        top_up=ZERO,
        billed=ZERO,
        billed_due=ZERO,
        runs_out_on=None,
        consumed_by_day=[D(1)] * 20,
    )

    postpaid_schedule(need, today, D(4), 10, 20)

    assert need.billed == D(16) and need.billed_due == D(16)
    assert need.paid_by_day == {date(2026, 4, 4): D(6), date(2026, 4, 11): D(10)}


def test_collections_are_weighted_by_each_buckets_history_or_the_matrix():
    """Four month ends each saw a fresh 100 invoice (due 30 days after issue, so current) of which 50
    was paid 10 days later: current is collected at 50% from history. At three of them the previous
    invoice's 50 was 1–30 days overdue and nothing more came in: 0% from history. 31–60 was seen twice
    only: the matrix's 15% loss gives 85%."""
    today = timezone.localdate()
    finance = staff("finance")
    acme = CustomerFactory(name="Acme Agents")
    credit_terms(acme, payment_term="net", payment_days=30)
    ends = sorted(month_ends(today, 30)[:4])
    for n, end in enumerate(ends):
        invoice = issued_invoice(acme, "100.00", issue_date=end - timedelta(days=5))
        payment_record(
            customer=acme,
            amount=D("50.00"),
            currency="CNY",
            received_on=end + timedelta(days=10),
            reference=f"P-{n}",
            actor=finance,
            idempotency_key=f"p-{n}",
            allocate=[(invoice, D("50.00"))],
        )
    fresh = issued_invoice(acme, "200.00", issue_date=today)

    collections = expected_collections(today, 30, BaseRates())

    rows = {row.bucket: row for row in collections.rows}
    assert (rows["current"].weight.share, rows["current"].weight.source) == (D("0.5"), HISTORY)
    assert rows["current"].weight.snapshots == 4
    assert (rows["d1_30"].weight.share, rows["d1_30"].weight.source) == (ZERO, HISTORY)
    assert (rows["d31_60"].weight.share, rows["d31_60"].weight.source) == (D("0.85"), MATRIX)
    assert (rows["current"].open_base, rows["current"].expected_base) == (D("200"), D("100"))
    # the fresh invoice is expected on its due date, weighted; the four half-paid invoices are overdue
    # today (which buckets depends on today's date), each expected from tomorrow at its bucket's weight
    assert collections.by_day[fresh.due_date] == D("100")
    overdue = [row for row in collections.rows if row.bucket != "current"]
    assert sum(row.open_base for row in overdue) == D("200")
    for row in overdue:
        assert row.expected_base == row.open_base * row.weight.share
    # by week from tomorrow: the overdue amounts in the first week, the fresh invoice's in the last (day 30)
    weeks = collections.by_week(today, 30)
    assert [(first, last) for first, last, _a in weeks] == [
        (today + timedelta(days=1), today + timedelta(days=7)),
        (today + timedelta(days=8), today + timedelta(days=14)),
        (today + timedelta(days=15), today + timedelta(days=21)),
        (today + timedelta(days=22), today + timedelta(days=28)),
        (today + timedelta(days=29), today + timedelta(days=30)),
    ]
    assert [amount for *_days, amount in weeks] == [
        sum(row.expected_base for row in overdue),
        ZERO,
        ZERO,
        ZERO,
        D("100"),
    ]
    assert collections.within == collections.expected_base


def test_float_curve_moves_each_term_by_its_steps():
    terms = {"upstream_prepaid": D(100), "unbilled": D(50), "receivables": D(200), "deposits": D(30)}
    terms |= {"payables": D(20), "funded_float": D(300)}
    steps = {
        "upstream_prepaid": [D(-10), D(-10)],
        "unbilled": [D(5), D(5)],
        "receivables": [D(-40), D(0)],
        "deposits": [D(-20), D(-20)],  # floored at zero on the second day
        "payables": [D(3), D(-23)],
    }
    today = date(2026, 3, 1)

    curve, changes = float_curve(terms, steps, today)

    # day 1: 90 + 55 + 160 − 10 − 23 = 272; day 2: 80 + 60 + 160 − 0 − 0 = 300
    assert curve == [(today, D(300)), (date(2026, 3, 2), D(272)), (date(2026, 3, 3), D(300))]
    assert changes == {
        "upstream_prepaid": D(-20),
        "unbilled": D(10),
        "receivables": D(-40),
        "deposits": D(-30),
        "payables": D(-20),
    }


def test_the_curves_first_point_is_todays_float(channel, postpaid_channel, usage):  # noqa: F811 (fixtures)
    today = timezone.localdate()
    issued_invoice(CustomerFactory(name="Acme Agents"), "300.00", issue_date=today - timedelta(days=3))
    buy(channel, "TOPUP", "50", kind="prepayment", bought=today - timedelta(days=30))
    for offset in range(1, 29):
        usage(today - timedelta(days=offset), 100)
        usage(today - timedelta(days=offset), 50, account="deepseek-post")

    result = forecast(today, window=28, horizon=30)

    assert result.curve[0] == (today, figures_by_currency()["CNY"]["funded_float"])
    assert result.float_today == result.curve[0][1] != ZERO
    assert len(result.curve) == 31
    # the postpaid channel accrues 0.15 a day: payables grow by at least the horizon's accrual
    accrued = sum(need.consumption for need in result.vendors[0].channels if not need.prepaid)
    assert accrued.quantize(D("0.000001")) == D("4.500000")
    assert result.metrics.window_days == 28 and result.metrics.cover_days is not None
