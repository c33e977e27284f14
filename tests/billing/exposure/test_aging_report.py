"""The aging report's figures: the goldens' boundaries, a past day from history, sub-distributors, totals
and the base currency (billing/exposure/aging_report.py over billing/receivables/aging.py)."""

import datetime as dt

import pytest

from accounts.models import StaffRole
from billing.exposure.aging_report import aging_report, by_sub_distributor, sorted_rows
from billing.receivables.aging import aging_by_customer
from billing.receivables.credit_notes import credit_note_issue
from billing.receivables.services import payment_record
from catalog.services.fx import fx_rate_set
from tests.billing.exposure.aging_helpers import (  # noqa: F401 (fixture)
    D,
    credit_customer,
    fresh_aging_memo,
    invoice_aged,
    sub_distributor,
    today,
)
from tests.billing.factories import staff

pytestmark = [pytest.mark.django_db]
ZERO_ROW = {"current": D("0"), "d1_30": D("0"), "d31_60": D("0"), "d61_90": D("0"), "d90_plus": D("0")}


@pytest.mark.parametrize(
    ("age", "bucket"),
    [(-5, "current"), (0, "current"), (1, "d1_30"), (30, "d1_30"), (31, "d31_60"), (60, "d31_60"),
     (61, "d61_90"), (90, "d61_90"), (91, "d90_plus"), (400, "d90_plus")],
)  # fmt: skip
def test_an_amount_falls_in_the_bucket_of_the_goldens_boundary_rule(age, bucket):
    on = today()
    invoice_aged(credit_customer("bounds"), "1.00", age=age, on=on)

    [amounts] = aging_by_customer(on).values()

    assert [key for key, amount in amounts.items() if amount] == [bucket]


@pytest.mark.parametrize("days_back", [0, 45], ids=["today", "past-day-from-history"])
def test_each_invoice_lands_in_its_bucket_by_days_past_due(days_back):
    on = today() - dt.timedelta(days=days_back)
    customer = credit_customer("bounds")
    for age, amount in ((0, "1.00"), (1, "10.00"), (30, "100.00"), (31, "1000.00"), (90, "10000.00")):
        invoice_aged(customer, amount, age=age, on=on)
    invoice_aged(customer, "100000.00", age=91, on=on)

    [row] = aging_report(on).rows

    assert row.buckets == {
        "current": D("1.00"),
        "d1_30": D("110.00"),
        "d31_60": D("1000.00"),
        "d61_90": D("10000.00"),
        "d90_plus": D("100000.00"),
    }
    assert row.total == D("111111.00") and row.base_total == D("111111.00")
    assert (row.party.code, row.currency, row.party.seller_code) == ("bounds", "CNY", None)


def _figures(report):
    return (
        [(r.party.code, r.currency, r.buckets, r.total, r.base_total) for r in report.rows],
        report.totals,
        report.base_totals,
    )


def test_a_past_day_reads_the_same_after_later_payments_partial_payments_and_credit_notes():
    # given: on day D, A (1,200, 20 days overdue), B (800, 45 overdue) and C (500, current) are open
    finance = staff(StaffRole.FINANCE)
    day = today() - dt.timedelta(days=10)
    acme = credit_customer("acme")
    a = invoice_aged(acme, "1200.00", age=20, on=day)
    b = invoice_aged(acme, "800.00", age=45, on=day)
    c = invoice_aged(acme, "500.00", age=-5, on=day)
    taken_that_day = _figures(aging_report(day))
    assert taken_that_day[1] == {
        "CNY": {**ZERO_ROW, "current": D("500.00"), "d1_30": D("1200.00"), "d31_60": D("800.00"),
                "total": D("2500.00")}
    }  # fmt: skip

    # when: after D, B is paid in full, A in part, and C is credited in part
    payment_record(
        customer=acme, amount=D("800.00"), currency="CNY", received_on=today(), reference="B-full",
        actor=finance, idempotency_key="aging-pay-b", allocate=[(b, D("800.00"))],
    )  # fmt: skip
    payment_record(
        customer=acme, amount=D("450.50"), currency="CNY", received_on=today(), reference="A-part",
        actor=finance, idempotency_key="aging-pay-a", allocate=[(a, D("450.50"))],
    )  # fmt: skip
    credit_note_issue(
        invoice=c, reason="Outage", amount=D("120.00"), actor=finance, idempotency_key="aging-cn-c",
        issue_date=today(),
    )  # fmt: skip

    # then: the report of D is the one taken on D; today's has moved
    assert _figures(aging_report(day)) == taken_that_day
    now = aging_report(today()).totals["CNY"]
    assert now["total"] == D("1200.00") - D("450.50") + D("500.00") - D("120.00")
    # Today A is 30 days past due and C 5 (both 1–30), B is paid.
    assert (now["d1_30"], now["d31_60"]) == (D("749.50") + D("380.00"), D("0"))


def test_subtrees_of_resale_and_agency_sub_distributors_are_summed_and_totals_add_up():
    on = today()
    agency = sub_distributor("agency", mode="agency")
    nested = sub_distributor("nested-agency", mode="agency", parent=agency)
    resale = sub_distributor("resale", mode="resale")
    direct = credit_customer("direct")
    a1 = credit_customer("a-one", parent=agency)
    n1 = credit_customer("n-one", parent=nested)
    r1 = credit_customer("r-one", parent=resale)  # billed by the reseller, in its book
    invoice_aged(direct, "10.00", age=0, on=on)
    invoice_aged(agency, "5.00", age=40, on=on)
    invoice_aged(a1, "20.00", age=5, on=on)
    invoice_aged(n1, "30.00", age=95, on=on)
    invoice_aged(resale, "40.00", age=65, on=on)
    invoice_aged(r1, "99.00", age=1, on=on)

    operator = aging_report(on)
    groups = {(g.party.code if g.party else None): g for g in by_sub_distributor(operator)}

    assert sorted(r.party.code for r in operator.rows) == ["a-one", "agency", "direct", "n-one", "resale"]
    assert groups["agency"].total == D("55.00") and groups["agency"].customers == 3
    assert groups["agency"].buckets == {**ZERO_ROW, "d1_30": D("20.00"), "d31_60": D("5.00"),
                                        "d90_plus": D("30.00")}  # fmt: skip
    assert groups["nested-agency"].total == D("30.00")
    assert groups["resale"].total == D("40.00") and groups["resale"].buckets["d61_90"] == D("40.00")
    assert groups[None].total == D("10.00")
    top_level = groups["agency"].total + groups["resale"].total + groups[None].total
    assert top_level == operator.totals["CNY"]["total"] == D("105.00")

    # The reseller's own book holds its customer's invoice, and nothing of the operator's.
    book = aging_report(on, book_id=resale.pk)
    assert [(r.party.code, r.party.seller_code, r.total) for r in book.rows] == [
        ("r-one", "resale", D("99.00"))
    ]
    assert book.totals["CNY"]["d1_30"] == D("99.00")
    r1_row = {r.party.code: r for r in operator.rows}
    assert "r-one" not in r1_row


def test_base_currency_converts_at_the_as_of_rate_and_a_missing_rate_is_shown_not_counted():
    on = today() - dt.timedelta(days=3)
    fx_rate_set(base="USD", quote="CNY", on=on - dt.timedelta(days=30), rate=D("7.0"))
    fx_rate_set(base="USD", quote="CNY", on=on, rate=D("7.1234"))
    fx_rate_set(base="USD", quote="CNY", on=on + dt.timedelta(days=1), rate=D("9"))  # after: not used
    usd = credit_customer("usd-co", currency="USD")
    eur = credit_customer("eur-co", currency="EUR")
    cny = credit_customer("cny-co")
    invoice_aged(usd, "100.01", age=10, on=on, currency="USD")
    invoice_aged(eur, "50.00", age=100, on=on, currency="EUR")
    invoice_aged(cny, "1.00", age=0, on=on)

    report = aging_report(on)
    rows = {r.party.code: r for r in report.rows}

    assert rows["usd-co"].base_total == D("712.41")  # 100.01 × 7.1234 = 712.411234
    assert rows["eur-co"].base_total is None
    assert report.missing_rates == ["EUR"] and report.rates["USD"] == D("7.1234")
    assert report.base_totals == {
        **ZERO_ROW,
        "current": D("1.00"),
        "d1_30": D("712.41"),
        "total": D("713.41"),
    }
    assert report.totals["EUR"]["d90_plus"] == D("50.00")  # still reported in its own currency
    by_base = sorted_rows(report.rows, "-base_total")
    assert [r.party.code for r in by_base] == ["eur-co", "usd-co", "cny-co"]


def test_filters_keep_one_currency_and_search_by_code_or_name():
    on = today()
    invoice_aged(credit_customer("alpha", name="Alpha Labs"), "10.00", age=3, on=on)
    invoice_aged(credit_customer("beta", name="Beta 北京"), "20.00", age=3, on=on)
    invoice_aged(credit_customer("gamma", currency="USD"), "30.00", age=3, on=on, currency="USD")

    assert [r.party.code for r in aging_report(on, currency="USD").rows] == ["gamma"]
    assert [r.party.code for r in aging_report(on, search="北京").rows] == ["beta"]
    assert [r.party.code for r in aging_report(on, search="ALP").rows] == ["alpha"]
    assert aging_report(on, search="ALP").totals == {
        "CNY": {**ZERO_ROW, "d1_30": D("10.00"), "total": D("10.00")}
    }


def test_a_rate_entered_later_and_a_new_invoice_show_at_once_whatever_was_cached():
    on = today()
    usd = credit_customer("late-rate", currency="USD")
    invoice_aged(usd, "10.00", age=2, on=on, currency="USD")
    assert aging_report(on).rows[0].base_total is None

    fx_rate_set(base="USD", quote="CNY", on=on, rate=D("7"))
    assert aging_report(on).rows[0].base_total == D("70.00")

    invoice_aged(usd, "5.00", age=0, on=on, currency="USD")
    again = aging_report(on)
    assert (again.rows[0].total, again.rows[0].base_total, again.base_totals["total"]) == (
        D("15.00"),
        D("105.00"),
        D("105.00"),
    )
