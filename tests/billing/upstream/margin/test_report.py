"""Gross margin of the crafted month (conftest.py) by each dimension, with filters, FX, the month before."""

from datetime import date
from decimal import Decimal

import pytest

from billing.upstream.margin.dimensions import Dimension, Grain
from billing.upstream.margin.selectors import UNMAPPED, Scope, margin_over_time, margin_report, rows_sorted
from tests.billing.upstream.margin.conftest import rate, rollup

pytestmark = [
    pytest.mark.django_db,
    # Exact sums: SQLite, the demo's database, keeps decimals as REAL.
    pytest.mark.postgres,
    pytest.mark.corrupts_billing("rollups written by hand, without their postings"),
]

MAY = Scope(start=date(2026, 5, 1), end=date(2026, 5, 31))
D = Decimal


def _rows(report):
    return {r.key.ident: r for r in report.rows}


def _base(figures):
    return figures.revenue_base, figures.cost_base, figures.margin_base, figures.requests


def test_totals_count_only_our_sales_converted_at_each_days_rate(month):
    report = margin_report(MAY, Dimension.VENDOR, label="2026-05")

    # C's 50.00 at S's retail is S's revenue, never ours: only S's purchase (30.00) counts
    assert _base(report.total) == (D("68.00"), D("46.80"), D("21.20"), 10)
    assert round(report.total.margin_pct, 4) == D("31.1765")
    # as recorded: revenue in CNY, cost partly in the USD contract's currency
    assert dict(report.total.revenue) == {"CNY": D("68.00")}
    assert dict(report.total.cost) == {"CNY": D("11.00"), "USD": D("5.00")}
    assert report.total.recorded_margin is None  # CNY less USD means nothing
    # the month before: April
    assert (report.previous_start, report.previous_end) == (date(2026, 4, 1), date(2026, 4, 30))
    assert _base(report.previous_total) == (D("5.00"), D("3.00"), D("2.00"), 1)
    assert report.missing_rates == []


def test_by_vendor_is_the_models_vendor(month):
    rows = _rows(margin_report(MAY, Dimension.VENDOR, label="2026-05"))

    assert set(rows) == {"zhipu", "openai"}
    assert _base(rows["zhipu"].current) == (D("48.00"), D("32.60"), D("15.40"), 7)
    assert _base(rows["openai"].current) == (D("20.00"), D("14.20"), D("5.80"), 3)
    assert rows["zhipu"].previous.margin_base == D("2.00")
    assert rows["zhipu"].change == D("13.40")
    assert rows["openai"].change == D("5.80")  # nothing in April: 0 before


def test_by_channel_merges_aliases_and_shows_unmapped_names(month):
    rows = _rows(margin_report(MAY, Dimension.CHANNEL, label="2026-05"))

    assert set(rows) == {"channel:zhipu-direct", "channel:openrouter-a", "unmapped:mystery-acct"}
    openrouter = rows["channel:openrouter-a"]  # "OR-A" (X's gpt-5) and "openrouter-a" (S's glm-5)
    assert _base(openrouter.current) == (D("50.00"), D("35.80"), D("14.20"), 7)
    assert dict(openrouter.current.cost) == {"USD": D("5.00")}
    assert "OpenRouter USD (USD)" in openrouter.key.detail
    # two channels, two costs for the same model: 6.00 CNY direct, 3.00 USD (21.60 CNY) via OpenRouter
    direct = rows["channel:zhipu-direct"]
    assert _base(direct.current) == (D("10.00"), D("6.00"), D("4.00"), 2)
    assert direct.current.recorded_margin == ("CNY", D("4.00"))
    unmapped = rows["unmapped:mystery-acct"]
    assert (unmapped.key.label, unmapped.key.detail) == ("mystery-acct", "unmapped")
    assert _base(unmapped.current) == (D("8.00"), D("5.00"), D("3.00"), 1)


def test_by_model(month):
    rows = _rows(margin_report(MAY, Dimension.MODEL, label="2026-05"))

    assert _base(rows["zhipu/glm-5"].current) == (D("48.00"), D("32.60"), D("15.40"), 7)
    assert _base(rows["openai/gpt-5"].current) == (D("20.00"), D("14.20"), D("5.80"), 3)
    assert rows["zhipu/glm-5"].key.detail == "Zhipu"


def test_by_customer_lists_our_buyers_only(month):
    rows = _rows(margin_report(MAY, Dimension.CUSTOMER, label="2026-05"))

    # S as our buyer, E whom the agency brought (we bill it), X; never C, S's customer
    assert set(rows) == {"x-direct", "shop-s", "e-via"}
    assert _base(rows["x-direct"].current) == (D("30.00"), D("20.20"), D("9.80"), 5)
    assert rows["x-direct"].previous.margin_base == D("2.00")
    assert _base(rows["shop-s"].current) == (D("30.00"), D("21.60"), D("8.40"), 4)
    assert rows["shop-s"].key.reseller and rows["shop-s"].key.customer_id == month["s"].pk
    assert _base(rows["e-via"].current) == (D("8.00"), D("5.00"), D("3.00"), 1)


def test_by_sub_distributor_is_each_branch_as_our_buyer(month):
    rows = _rows(margin_report(MAY, Dimension.SUB_DISTRIBUTOR, label="2026-05"))

    assert set(rows) == {"shop-s", "agent-a", "direct"}
    # the reseller's purchases at our price, not its customers' retail (50.00)
    assert _base(rows["shop-s"].current) == (D("30.00"), D("21.60"), D("8.40"), 4)
    # the agency's branch: what we billed the customer it brought
    assert _base(rows["agent-a"].current) == (D("8.00"), D("5.00"), D("3.00"), 1)
    assert _base(rows["direct"].current) == (D("30.00"), D("20.20"), D("9.80"), 5)
    assert rows["direct"].previous.margin_base == D("2.00")


@pytest.mark.parametrize(
    ("grain", "expected"),
    [
        (
            Grain.DAY,
            {
                "2026-05-04": (D("10.00"), D("6.00"), D("4.00"), 2),
                "2026-05-10": (D("20.00"), D("14.20"), D("5.80"), 3),
                "2026-05-20": (D("30.00"), D("21.60"), D("8.40"), 4),
                "2026-05-21": (D("8.00"), D("5.00"), D("3.00"), 1),
            },
        ),
        (
            Grain.WEEK,
            {
                "2026-W19": (D("30.00"), D("20.20"), D("9.80"), 5),
                "2026-W21": (D("38.00"), D("26.60"), D("11.40"), 5),
            },
        ),
        (Grain.MONTH, {"2026-05": (D("68.00"), D("46.80"), D("21.20"), 10)}),
    ],
)
def test_by_period(month, grain, expected):
    report = margin_report(MAY, Dimension.PERIOD, grain=grain, label="2026-05")

    assert [r.key.ident for r in report.rows] == list(expected)  # in time order
    assert {r.key.ident: _base(r.current) for r in report.rows} == expected
    assert not report.compares and all(r.previous is None for r in report.rows)


def test_margin_over_time_per_day_with_sales(month):
    points = margin_over_time(MAY)

    assert [(day, round(pct, 2), margin) for day, pct, margin in points] == [
        ("2026-05-04", D("40.00"), D("4.00")),
        ("2026-05-10", D("29.00"), D("5.80")),
        ("2026-05-20", D("28.00"), D("8.40")),
        ("2026-05-21", D("37.50"), D("3.00")),
    ]


def test_filters(month):
    def total(**filters):
        return _base(margin_report(Scope(start=MAY.start, end=MAY.end, **filters), Dimension.VENDOR).total)

    assert total(vendor_id=month["openai"].pk) == (D("20.00"), D("14.20"), D("5.80"), 3)
    assert total(model_id=month["glm"].pk) == (D("48.00"), D("32.60"), D("15.40"), 7)
    assert total(channel=month["openrouter_a"]) == (D("50.00"), D("35.80"), D("14.20"), 7)
    assert total(channel=UNMAPPED) == (D("8.00"), D("5.00"), D("3.00"), 1)
    assert total(customer_id=month["s"].pk) == (D("30.00"), D("21.60"), D("8.40"), 4)
    assert total(cost_currency="USD") == (D("50.00"), D("35.80"), D("14.20"), 7)
    assert total(sell_currency="USD") == (D("0"), D("0"), D("0"), 0)


def test_a_missing_rate_is_shown_as_missing_never_guessed(month):
    eur = rollup(
        month["x"], month["glm"], date(2026, 5, 5), "zhipu-direct", requests=1, sell="4.00", cost="1.00"
    )
    eur.cost_currency = "EUR"
    eur.save()
    # USD on a day before its first rate
    rollup(
        month["x"],
        month["gpt"],
        date(2026, 3, 31),
        "OR-A",
        requests=1,
        sell="9.00",
        cost="1.00",
        cost_currency="USD",
    )

    report = margin_report(MAY, Dimension.CUSTOMER, label="2026-05")
    x = _rows(report)["x-direct"]

    assert x.current.revenue_base == D("34.00")  # revenue is CNY: known
    assert x.current.cost_base is None and x.current.margin_base is None and x.current.margin_pct is None
    assert dict(x.current.cost_unconverted) == {"EUR": D("1.00")}
    assert report.total.margin_base is None
    assert [(m.currency, m.amount, m.first_rate) for m in report.missing_rates] == [("EUR", D("1.00"), None)]
    # S's row needs no EUR: still complete
    assert _rows(report)["shop-s"].current.margin_base == D("8.40")
    # a quarter back, March's USD precedes the first USD rate (1 April)
    march = margin_report(
        Scope(start=date(2026, 3, 1), end=date(2026, 3, 31)), Dimension.VENDOR, label="2026-03"
    )
    assert [(m.currency, m.first_rate) for m in march.missing_rates] == [("USD", date(2026, 4, 1))]
    rate("USD", "CNY", date(2026, 3, 1), "6.90")
    march = margin_report(
        Scope(start=date(2026, 3, 1), end=date(2026, 3, 31)), Dimension.VENDOR, label="2026-03"
    )
    assert march.total.margin_base == D("2.10")


def test_quarter_compares_with_the_quarter_before_and_ranges_with_as_many_days():
    q2 = margin_report(
        Scope(start=date(2026, 4, 1), end=date(2026, 6, 30)), Dimension.VENDOR, label="2026-Q2"
    )
    assert (q2.previous_start, q2.previous_end) == (date(2026, 1, 1), date(2026, 3, 31))
    span = margin_report(Scope(start=date(2026, 5, 11), end=date(2026, 5, 20)), Dimension.VENDOR)
    assert (span.previous_start, span.previous_end) == (date(2026, 5, 1), date(2026, 5, 10))


def test_custom_range_reads_whole_days_of_the_range(month):
    report = margin_report(Scope(start=date(2026, 5, 10), end=date(2026, 5, 20)), Dimension.VENDOR)

    assert _base(report.total) == (D("50.00"), D("35.80"), D("14.20"), 7)
    # the 10 days before: 05-04's sale
    assert _base(report.previous_total) == (D("10.00"), D("6.00"), D("4.00"), 2)


def test_sorting_puts_unknown_values_last(month):
    report = margin_report(MAY, Dimension.CUSTOMER, label="2026-05")

    by_margin = [r.key.ident for r in rows_sorted(report.rows, "-margin")]
    assert by_margin == ["x-direct", "shop-s", "e-via"]
    assert [r.key.ident for r in rows_sorted(report.rows, "margin")] == ["e-via", "shop-s", "x-direct"]
    assert [r.key.ident for r in rows_sorted(report.rows, "label")] == ["e-via", "shop-s", "x-direct"]
    assert next(r.key.ident for r in rows_sorted(report.rows, "-change")) == "shop-s"  # 8.40 vs 0 before
    assert [r.key.ident for r in rows_sorted(report.rows, "bogus")] == ["e-via", "shop-s", "x-direct"]
