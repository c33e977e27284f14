"""Posting expected credit loss: only the change in the allowance, up or down, nothing for no change,
nothing twice for the same figures, the matrix used kept on each run."""

import datetime as dt

import pytest

from accounts.models import Customer
from billing.exposure.ecl import EclInputError
from billing.exposure.ecl_history import EclError
from billing.exposure.ecl_post import ecl_post, runs_of_book
from billing.exposure.models import EclMatrix, EclRun
from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.services import transaction_reverse
from tests.billing.exposure.ecl_helpers import (
    GOLDEN_RATES,
    D,
    allowance_balance,
    as_of_day,
    credit_customer,
    expense_balance,
    firer_cohort,
    golden_receivables,
    invoice_due,
    pay,
)
from tests.billing.invoicing.factories import credit_terms
from tests.factories import CustomerFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db
BUTTON = EclRun.Origin.BUTTON


def journal_lines(run):
    return sorted(
        (e.account.kind, e.amount) for e in run.journal_transaction.entries.select_related("account")
    )


def test_a_decrease_is_released_dr_allowance_cr_expense():
    as_of = as_of_day()
    golden_receivables(as_of)
    ecl_post(as_of, origin=BUTTON, rates=GOLDEN_RATES)

    [run] = ecl_post(as_of, origin=BUTTON, rates=[D(1), D(5), D(15), D(30), D(60)])

    # 1.50 + 10.00 + 12.00 + 60.00 + 30.00 = 113.50 required; 178.50 held: release 65.00.
    assert (run.total, run.prior_allowance, run.change) == (D("113.50"), D("178.50"), D("-65.00"))
    assert journal_lines(run) == [
        (AccountKind.ALLOWANCE_DOUBTFUL, D("65.00")),
        (AccountKind.BAD_DEBT_EXPENSE, D("-65.00")),
    ]
    assert run.journal_transaction.kind == "ecl.release"
    assert allowance_balance() == D("113.50")
    assert expense_balance() == D("113.50")


def test_running_again_with_the_same_figures_posts_nothing_twice():
    as_of = as_of_day()
    golden_receivables(as_of)
    [first] = ecl_post(as_of, origin=BUTTON, rates=GOLDEN_RATES)
    journals = JournalTransaction.objects.count()

    again = ecl_post(as_of, origin=EclRun.Origin.MONTHLY, rates=GOLDEN_RATES)
    once_more = ecl_post(as_of, origin=BUTTON, rates=GOLDEN_RATES)

    assert again == once_more == [first]
    assert EclRun.objects.count() == 1
    assert JournalTransaction.objects.count() == journals
    assert allowance_balance() == D("178.50")


def test_no_change_is_a_run_without_a_journal():
    as_of = as_of_day()
    golden_receivables(as_of)
    same_first_two = [D(15), D(15), D(25), D(31), D(100)]
    ecl_post(as_of, origin=BUTTON, rates=same_first_two)
    # A day later the current invoice is one day late (1–30, the same 15%); the others keep their buckets.
    later = as_of + dt.timedelta(days=1)

    [run] = ecl_post(later, origin=BUTTON, rates=same_first_two)
    [replayed] = ecl_post(later, origin=BUTTON, rates=same_first_two)

    assert run.buckets[0]["gross"] == "0.00"
    assert (run.total, run.prior_allowance, run.change) == (D("184.50"), D("184.50"), D(0))
    assert run.journal_transaction is None
    assert replayed == run
    assert EclRun.objects.count() == 2


def test_new_figures_for_the_same_date_post_only_the_new_difference():
    as_of = as_of_day()
    customer = golden_receivables(as_of)
    ecl_post(as_of, origin=BUTTON, rates=GOLDEN_RATES)
    # The over-90 invoice of 50 turns out to have been paid on as_of, recorded only now.
    over_90 = customer.invoices.get(total=D("50.00"))
    pay(over_90, "50.00", as_of)

    [run] = ecl_post(as_of, origin=BUTTON, rates=GOLDEN_RATES)

    assert (run.total, run.prior_allowance, run.change) == (D("128.50"), D("178.50"), D("-50.00"))
    assert allowance_balance() == D("128.50")
    assert EclRun.objects.count() == 2


def test_the_allowance_changed_by_something_else_is_topped_up_again():
    as_of = as_of_day()
    golden_receivables(as_of)
    [first] = ecl_post(as_of, origin=BUTTON, rates=GOLDEN_RATES)
    # The charge reversed by hand on the same day: the same figures, but the allowance is back to nothing.
    transaction_reverse(
        original=first.journal_transaction, idempotency_key="undo-ecl", memo="undo", effective_date=as_of
    )

    [run] = ecl_post(as_of, origin=BUTTON, rates=GOLDEN_RATES)

    assert run != first
    assert (run.prior_allowance, run.change) == (D(0), D("178.50"))
    assert allowance_balance() == D("178.50")


def test_the_matrix_used_is_stored_on_the_run():
    as_of = as_of_day()
    golden_receivables(as_of)

    [given] = ecl_post(as_of, origin=BUTTON, rates=GOLDEN_RATES)

    assert given.matrix == {"method": "given", "rates": ["11", "15", "25", "31", "100"], "book_id": None}
    assert given.buckets[0] == {"bucket": "current", "gross": "150.00", "rate": "11", "ecl": "16.50"}
    assert given.gross == D("680.00")
    assert given.journal_transaction.effective_date == as_of


def test_the_derived_matrix_is_stored_with_its_cohort():
    as_of = as_of_day()
    firer_cohort(as_of)
    credit_customer("open-one")
    invoice_due(Customer.objects.get(code="open-one"), "200.00", as_of)
    matrix = EclMatrix.load()
    matrix.method = EclMatrix.Method.DERIVED
    matrix.forward_adjustment = D(10)
    matrix.save()

    [run] = ecl_post(as_of, origin=EclRun.Origin.MONTHLY)

    assert run.matrix["method"] == "derived"
    assert run.matrix["rates"] == ["11", "16", "24", "31", "100"]
    assert run.matrix["derivation"]["pooled"]["reached"] == ["100.00", "70.00", "45.00", "35.00", "10.00"]
    assert run.matrix["derivation"]["pooled"]["loss"] == "10.00"
    assert run.matrix["derivation"]["forward_adjustment"] == "10.000000"
    # 200 current × 11%.
    assert run.total == D("22.00")


def test_entered_rates_are_the_default():
    as_of = as_of_day()
    golden_receivables(as_of)

    [run] = ecl_post(as_of, origin=BUTTON)

    # The matrix's defaults 1 / 5 / 15 / 30 / 60: 1.50 + 10 + 12 + 60 + 30.
    assert run.matrix["method"] == "entered"
    assert run.total == D("113.50")


def test_a_date_before_a_run_already_made_is_refused():
    as_of = as_of_day()
    golden_receivables(as_of)
    ecl_post(as_of, origin=BUTTON, rates=GOLDEN_RATES)

    with pytest.raises(EclError, match="runs go forward in time"):
        ecl_post(as_of - dt.timedelta(days=1), origin=BUTTON, rates=GOLDEN_RATES)
    assert EclRun.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rates": [D(1), D(2), D(3), D(4)]}, "rates"),
        ({"rates": [D(1), D(2), D(3), D(4), D(120)]}, "rates"),
        ({"rates": [D(-1), D(2), D(3), D(4), D(5)]}, "rates"),
    ],
)
def test_bad_rates_post_nothing(kwargs, field):
    as_of = as_of_day()
    golden_receivables(as_of)

    with pytest.raises(EclInputError) as refused:
        ecl_post(as_of, origin=BUTTON, **kwargs)

    assert refused.value.field == field
    assert not EclRun.objects.exists()
    assert allowance_balance() == D(0)


def test_a_future_date_is_refused():
    with pytest.raises(EclInputError, match="in the future"):
        ecl_post(as_of_day() + dt.timedelta(days=30), origin=BUTTON, rates=GOLDEN_RATES)


def test_each_currency_has_its_own_run_and_journal():
    as_of = as_of_day()
    golden_receivables(as_of)
    golden_receivables(as_of, code="golden-usd", currency="USD")

    runs = ecl_post(as_of, origin=BUTTON, rates=GOLDEN_RATES)

    assert [(r.currency, r.change) for r in runs] == [("CNY", D("178.50")), ("USD", D("178.50"))]
    assert allowance_balance("USD") == D("178.50")
    assert {e.currency for e in runs[1].journal_transaction.entries.all()} == {"USD"}


def test_a_resale_book_is_measured_and_posted_in_its_own_book():
    as_of = as_of_day()
    reseller = SubDistributorFactory(code="resale", chain_mode=Customer.ChainMode.RESALE)
    golden_receivables(as_of)  # the operator's customer
    own = CustomerFactory(code="theirs", parent=reseller)
    assert own.seller_id == reseller.pk
    credit_terms(own, currency="CNY", payment_term="on_receipt")
    invoice_due(own, "1000.00", as_of - dt.timedelta(days=100))

    [run] = ecl_post(as_of, origin=BUTTON, rates=GOLDEN_RATES, book_id=reseller.pk)

    assert run.total == D("1000.00")
    assert run.journal_transaction.book_id == reseller.pk
    assert allowance_balance(book=reseller) == D("1000.00")
    assert allowance_balance() == D(0)
    assert list(runs_of_book(reseller.pk)) == [run]
    assert not runs_of_book(None).exists()


def test_a_customer_without_a_book_is_refused():
    plain = CustomerFactory(code="plain")
    with pytest.raises(EclInputError, match="keeps no book"):
        ecl_post(as_of_day(), origin=BUTTON, rates=GOLDEN_RATES, book_id=plain.pk)
