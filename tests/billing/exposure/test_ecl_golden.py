"""The goldens' worked example (S. Firer's loss-rate provision matrix): the rates from the cohort, the
allowance of 178.50 on receivables of 150 / 200 / 80 / 200 / 50 and, with 100 held, a charge of 78.50."""

import pytest

from billing.exposure.ecl import ecl_measure
from billing.exposure.ecl_history import adjusted, loss_rates
from billing.exposure.ecl_post import ecl_post
from billing.exposure.models import EclRun
from billing.ledger.models import AccountKind
from tests.billing.exposure.ecl_helpers import (
    GOLDEN_RATES,
    D,
    allowance_balance,
    as_of_day,
    expense_balance,
    golden_receivables,
)

pytestmark = pytest.mark.django_db


def test_loss_rates_of_the_cohort_are_loss_over_what_reached_each_bucket():
    rates = loss_rates([D(100), D(70), D(45), D(35), D(10)], D(10))
    assert rates[0] == D(10)
    assert rates[1].quantize(D("0.0001")) == D("14.2857")
    assert rates[2].quantize(D("0.0001")) == D("22.2222")
    assert rates[3].quantize(D("0.0001")) == D("28.5714")
    assert rates[4] == D(100)


def test_loss_rates_cap_at_100_and_a_bucket_nothing_reached_has_no_rate():
    assert loss_rates([D(50), D(5), D(0)], D(10)) == [D(20), D(100), D(100)]
    assert loss_rates([D(50), D(0)], D(0)) == [D(0), D(0)]


def test_the_forward_adjustment_is_relative_capped_and_rounded_half_up():
    raw = loss_rates([D(100), D(70), D(45), D(35), D(10)], D(10))
    # ×1.10: 11, 15.71, 24.44, 31.43, 110 → capped at 100. (The source prints 15 and 25 for the middle
    # two, which no single relative adjustment gives; the golden allowance below uses its printed rates.)
    assert adjusted(raw, D(10), True) == [D(11), D(16), D(24), D(31), D(100)]
    assert adjusted([D("12.5"), D("0.5")], D(0), True) == [D(13), D(1)]
    assert adjusted([D(10)], D(-100), True) == [D(0)]
    assert adjusted([D("14.2857142857")], D(10), False) == [D("15.714286")]


def test_golden_allowance_is_178_50():
    as_of = as_of_day()
    golden_receivables(as_of)
    measure = ecl_measure(as_of, rates=GOLDEN_RATES)
    cny = measure.currencies["CNY"]
    assert [b.gross for b in cny.buckets] == [D("150.00"), D("200.00"), D("80.00"), D("200.00"), D("50.00")]
    assert [b.ecl for b in cny.buckets] == [D("16.50"), D("30.00"), D("20.00"), D("62.00"), D("50.00")]
    assert cny.total == D("178.50")
    assert cny.prior_allowance == D(0)
    assert measure.base.total == D("178.50")


def test_golden_charge_is_78_50_with_100_held():
    as_of = as_of_day()
    golden_receivables(as_of)
    # A first run that leaves 100 held: 25% of 200 (61–90) + 100% of 50 (over 90).
    [first] = ecl_post(as_of, origin=EclRun.Origin.BUTTON, rates=[D(0), D(0), D(0), D(25), D(100)])
    assert (first.total, first.change) == (D("100.00"), D("100.00"))
    assert allowance_balance() == D(100)

    [run] = ecl_post(as_of, origin=EclRun.Origin.BUTTON, rates=GOLDEN_RATES)

    assert (run.total, run.prior_allowance, run.change) == (D("178.50"), D(100), D("78.50"))
    entries = {e.account.kind: e.amount for e in run.journal_transaction.entries.select_related("account")}
    assert entries == {AccountKind.BAD_DEBT_EXPENSE: D("78.50"), AccountKind.ALLOWANCE_DOUBTFUL: D("-78.50")}
    assert run.journal_transaction.effective_date == as_of
    assert allowance_balance() == D("178.50")
    assert expense_balance() == D("178.50")
