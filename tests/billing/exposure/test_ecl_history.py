"""Loss rates derived from our own history (the loss-rate method): the cohort's amounts that reached each
bucket read from dated payments and credit notes, its final loss from approved write-offs."""

import datetime as dt

import pytest

from accounts.models import StaffRole
from billing.exposure.ecl import ecl_measure
from billing.exposure.ecl_history import EclError, cohorts_read, rates_derive
from billing.exposure.models import EclMatrix
from billing.fx.rates import FxRatesMissing
from billing.receivables.credit_notes import credit_note_issue
from catalog.models import FxRate
from tests.billing.exposure.ecl_helpers import (
    D,
    as_of_day,
    credit_customer,
    firer_cohort,
    invoice_due,
    pay,
)
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db

FIRER_REACHED = (D(100), D(70), D(45), D(35), D(10))


def test_the_cohort_is_read_from_dated_payments_and_write_offs():
    as_of = as_of_day()
    firer_cohort(as_of)

    [cohort] = cohorts_read(as_of, history_months=24)

    assert (cohort.currency, cohort.invoices) == ("CNY", 1)
    assert cohort.reached == FIRER_REACHED
    assert cohort.loss == D(10)


def test_derived_rates_are_firers_raw_rates_then_adjusted():
    as_of = as_of_day()
    firer_cohort(as_of)

    derivation = rates_derive(as_of, history_months=24, forward_adjustment=D(10), round_whole=True)

    raw = [rate.quantize(D("0.01")) for rate in derivation.raw_rates]
    assert raw == [D("10.00"), D("14.29"), D("22.22"), D("28.57"), D("100.00")]
    assert derivation.rates == (D(11), D(16), D(24), D(31), D(100))
    assert derivation.pooled.reached == FIRER_REACHED


def test_only_invoices_due_in_the_window_whose_fate_is_known_count():
    as_of = as_of_day()
    firer_cohort(as_of)
    customer = credit_customer("late")
    # Due 90 days before: its fate is not known yet. Due 25 months before: outside 24 months of history.
    invoice_due(customer, "500.00", as_of - dt.timedelta(days=90))
    invoice_due(customer, "700.00", as_of - dt.timedelta(days=760))

    [cohort] = cohorts_read(as_of, history_months=24)

    assert cohort.invoices == 1
    assert cohort.reached == FIRER_REACHED


def test_a_later_payment_does_not_change_a_past_dates_cohort():
    as_of = as_of_day() - dt.timedelta(days=20)
    customer = credit_customer("slow")
    due = as_of - dt.timedelta(days=120)
    invoice = invoice_due(customer, "100.00", due)
    pay(invoice, "40.00", due + dt.timedelta(days=10))
    # Paid after as_of, and at 130 days: neither the reading at due + 91 nor as_of sees it.
    pay(invoice, "60.00", as_of + dt.timedelta(days=10))

    [cohort] = cohorts_read(as_of, history_months=12)

    assert cohort.reached == (D(100), D(100), D(60), D(60), D(60))
    assert cohort.loss == D(0)


def test_a_credit_note_before_the_due_date_corrects_the_sale():
    as_of = as_of_day()
    customer = credit_customer("credited")
    due = as_of - dt.timedelta(days=150)
    invoice = invoice_due(customer, "100.00", due)
    credit_note_issue(
        invoice=invoice,
        reason="Wrong quantity",
        amount=D("20.00"),
        actor=staff(StaffRole.FINANCE),
        idempotency_key="cn-before-due",
        issue_date=due,
    )
    pay(invoice, "80.00", due + dt.timedelta(days=40))

    [cohort] = cohorts_read(as_of, history_months=24)

    assert cohort.reached == (D(80), D(80), D(80), D(0), D(0))


def test_currencies_are_pooled_in_the_base_currency_and_a_missing_rate_names_the_pair():
    as_of = as_of_day()
    firer_cohort(as_of)
    firer_cohort(as_of, code="firer-usd", currency="USD", scale=2)

    with pytest.raises(FxRatesMissing, match=f"USD→CNY {as_of:%Y-%m-%d}"):
        rates_derive(as_of, history_months=24, forward_adjustment=D(0), round_whole=False)

    FxRate.objects.create(base="USD", quote="CNY", date=as_of - dt.timedelta(days=300), rate=D("7"))
    derivation = rates_derive(as_of, history_months=24, forward_adjustment=D(0), round_whole=False)

    assert [c.currency for c in derivation.cohorts] == ["CNY", "USD"]
    assert derivation.cohorts[1].reached == tuple(2 * r for r in FIRER_REACHED)
    # 100 CNY + 200 USD × 7 = 1,500 CNY sold; 10 + 20 × 7 = 150 lost: the same ratios as one cohort.
    assert derivation.pooled.reached == tuple(15 * r for r in FIRER_REACHED)
    assert derivation.pooled.loss == D(150)
    assert derivation.rates[0] == D(10)


def test_no_history_is_an_error_that_says_what_to_do():
    with pytest.raises(EclError, match="No history to derive loss rates from"):
        rates_derive(as_of_day(), history_months=24, forward_adjustment=D(0), round_whole=True)


def test_the_configured_derived_matrix_is_applied_and_described():
    as_of = as_of_day()
    firer_cohort(as_of)
    customer = credit_customer("open")
    invoice_due(customer, "1000.00", as_of - dt.timedelta(days=40))
    matrix = EclMatrix.load()
    matrix.method = EclMatrix.Method.DERIVED
    matrix.forward_adjustment = D(10)
    matrix.round_whole = True
    matrix.save()

    measure = ecl_measure(as_of)

    assert measure.method == "derived"
    assert measure.rates == (D(11), D(16), D(24), D(31), D(100))
    # 1,000 open at 40 days late (31–60) × 24%.
    assert measure.currencies["CNY"].total == D("240.00")
    derivation = measure.matrix["derivation"]
    assert derivation["pooled"]["reached"] == ["100.00", "70.00", "45.00", "35.00", "10.00"]
    assert derivation["rates"] == ["11", "16", "24", "31", "100"]
