"""Write-offs and recoveries read the same in the past whenever they are printed (#19 review): a recovery
is dated with the allocation that makes it, a released recovery is undone, a backdated write-off takes
only the allowance held then, and "Allocate credit" never recovers."""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts.models import StaffRole
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalEntry
from billing.ledger.services import credit, debit, transaction_post
from billing.receivables.aging import aging_by_customer
from billing.receivables.allocations import payment_allocations_release
from billing.receivables.models import BadDebtRecovery, PaymentAllocation
from billing.receivables.services import customer_credit, customer_credit_apply, payment_record
from billing.receivables.writeoffs import (
    writeoff_approve,
    writeoff_credit_recover,
    writeoff_propose,
    writeoff_split,
)
from billing.statements.build import aging_at, statement_build
from tests.billing.factories import staff
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.billing.receivables.helpers import books_agree, refreshed
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

D = Decimal
MAR, JUN30, AUG10, AUG20, SEP1 = (
    date(2026, 3, 1),
    date(2026, 6, 30),
    date(2026, 8, 10),
    date(2026, 8, 20),
    date(2026, 9, 1),
)


@pytest.fixture
def admin():
    return staff(StaffRole.ADMIN)


@pytest.fixture
def gone():
    customer = CustomerFactory(name="Gone Co")
    credit_terms(customer, payment_term="net", payment_days=30)
    return customer


def written_off(customer, finance, admin, amount="500.00", part=None, on=JUN30, key="w"):
    invoice = issued_invoice(customer, amount, issue_date=MAR)
    write_off = writeoff_propose(
        customer=customer,
        invoices_amounts=[(invoice, part)],
        reason="Gone",
        actor=finance,
        idempotency_key=key,
    )
    writeoff_approve(write_off=write_off, approver=admin, effective_date=on)
    invoice.refresh_from_db()
    return invoice


def pay(customer, amount, finance, key, received_on=AUG10, allocate=None):
    return payment_record(
        customer=customer,
        amount=D(amount),
        currency="CNY",
        received_on=received_on,
        reference=key,
        actor=finance,
        idempotency_key=key,
        allocate=allocate,
    )


def income() -> Decimal:
    return account_get(kind=AccountKind.BAD_DEBT_RECOVERED, currency="CNY").balance


def test_credit_applied_later_recovers_on_the_day_it_is_applied(gone, finance, admin):
    invoice = written_off(gone, finance, admin)
    pay(gone, "120.00", finance, "p")  # received 10 August, kept as credit
    aging_before, at_before = aging_by_customer(SEP1), aging_at(gone, "CNY", SEP1)
    august_before = statement_build(gone, date(2026, 8, 1), date(2026, 8, 31)).sections[0]

    writeoff_credit_recover(invoice=invoice, actor=finance)

    today = timezone.localdate()
    recovery = BadDebtRecovery.objects.get()
    allocation = PaymentAllocation.objects.get()
    assert recovery.amount == D("120.00")
    assert recovery.recovered_on == today
    assert recovery.journal_transaction.effective_date == today
    assert timezone.localtime(allocation.allocated_at).date() == today
    # the past reads as it did: no 120 over 90 days on 1 September, no recovery in August's statement
    assert aging_by_customer(SEP1) == aging_before
    assert aging_at(gone, "CNY", SEP1) == at_before
    august = statement_build(gone, date(2026, 8, 1), date(2026, 8, 31)).sections[0]
    assert august.recovered == august_before.recovered == 0
    assert books_agree(gone)[0] == books_agree(gone)[1]


def test_money_received_before_the_write_off_recovers_on_the_write_off_day(gone, finance, admin):
    invoice = written_off(gone, finance, admin)
    # recorded afterwards, received 1 June, allocated to the invoice written off effective 30 June
    pay(gone, "100.00", finance, "p", received_on=date(2026, 6, 1), allocate=[(invoice, D("100.00"))])

    recovery = BadDebtRecovery.objects.get()
    allocation = PaymentAllocation.objects.get()
    assert recovery.recovered_on == JUN30 == recovery.journal_transaction.effective_date
    assert timezone.localtime(allocation.allocated_at).date() == JUN30
    # on 15 June the invoice was neither paid nor written off yet: all 500 open
    assert sum(b.amount for b in aging_at(gone, "CNY", date(2026, 6, 15))) == D("500.00")
    assert sum(b.amount for b in aging_at(gone, "CNY", JUN30)) == 0
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_written_off) == ("written_off", D("400.00"))


def test_a_released_recovery_is_undone_and_the_invoice_stays_written_off(gone, finance, admin):
    invoice = written_off(gone, finance, admin)
    payment = pay(gone, "120.00", finance, "p", allocate=[(invoice, D("120.00"))])
    assert income() == D("-120.00")

    # the payment bounced: its allocations are released from 20 August
    payment_allocations_release(payment=payment, at=AUG20, reason="Bounced", actor=finance)

    (invoice,) = refreshed(invoice)
    assert (invoice.status, invoice.amount_due, invoice.amount_written_off, invoice.amount_paid) == (
        "written_off",
        0,
        D("500.00"),
        0,
    )
    assert income() == 0
    recovery, reversal = BadDebtRecovery.objects.order_by("pk")
    assert (reversal.amount, reversal.reverses, reversal.recovered_on) == (D("-120.00"), recovery, AUG20)
    assert reversal.journal_transaction.effective_date == AUG20
    assert recovery.amount == D("120.00")  # history kept
    # nothing is open before or after: written off, then recovered, then written off again
    for day in (date(2026, 8, 15), AUG20, SEP1):
        assert sum(b.amount for b in aging_at(gone, "CNY", day)) == 0
    august = statement_build(gone, date(2026, 8, 1), date(2026, 8, 31), strict=True).sections[0]
    assert august.recovered == 0  # recovered and undone within the month
    assert customer_credit(customer=gone, currency="CNY") == D("120.00")
    assert books_agree(gone)[0] == books_agree(gone)[1]


def test_a_partial_release_undoes_the_recovery_before_the_payment_of_what_was_due(gone, finance, admin):
    invoice = written_off(gone, finance, admin, part=D("300.00"))  # 200 left due
    payment = pay(gone, "320.00", finance, "p", allocate=[(invoice, D("320.00"))])
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.amount_written_off) == (D("320.00"), D("180.00"))

    payment_allocations_release(
        payment=payment, amount=D("100.00"), at=AUG20, reason="Part back", actor=finance
    )
    (invoice,) = refreshed(invoice)
    assert (invoice.amount_paid, invoice.amount_written_off, invoice.status) == (
        D("220.00"),
        D("280.00"),
        "written_off",
    )
    payment_allocations_release(
        payment=payment, amount=D("100.00"), at=AUG20, reason="More back", actor=finance
    )
    (invoice,) = refreshed(invoice)
    # 20 more undone the recovery, 80 of what was due is due again
    assert (invoice.amount_paid, invoice.amount_written_off, invoice.amount_due, invoice.status) == (
        D("120.00"),
        D("300.00"),
        D("80.00"),
        "partially_paid",
    )
    assert income() == 0
    assert BadDebtRecovery.objects.aggregate(s=Sum("amount"))["s"] == 0
    assert books_agree(gone)[0] == books_agree(gone)[1]


def allowance_charge(amount, on, release=False):
    """An ECL run's posting: a charge (Dr expense / Cr allowance) or a release (the other way)."""
    expense = account_get(kind=AccountKind.BAD_DEBT_EXPENSE, currency="CNY")
    allowance = account_get(kind=AccountKind.ALLOWANCE_DOUBTFUL, currency="CNY")
    lines = [debit(expense, D(amount), "CNY"), credit(allowance, D(amount), "CNY")]
    if release:
        lines = [debit(allowance, D(amount), "CNY"), credit(expense, D(amount), "CNY")]
    transaction_post(
        idempotency_key=f"test.ecl:{amount}:{on}", kind="ecl.charge", lines=lines, effective_date=on
    )


def allowance_at(day) -> Decimal:
    entries = JournalEntry.objects.filter(
        account__kind=AccountKind.ALLOWANCE_DOUBTFUL, transaction__effective_date__lte=day
    )
    return -(entries.aggregate(s=Sum("amount"))["s"] or 0)


def test_a_backdated_write_off_takes_no_allowance_charged_later(gone, finance, admin):
    allowance_charge("178.50", date(2026, 11, 30))
    invoice = written_off(gone, finance, admin, amount="100.00", on=date(2026, 10, 15))

    split = writeoff_split(invoice.write_off_lines.get().write_off)
    assert (split.allowance, split.expense) == (0, D("100.00"))
    assert allowance_at(date(2026, 10, 31)) == 0
    assert allowance_at(date(2026, 11, 30)) == D("178.50")


def test_a_backdated_write_off_takes_the_least_allowance_held_from_its_day_on(gone, finance, admin):
    allowance_charge("100.00", date(2026, 10, 1))
    allowance_charge("80.00", date(2026, 11, 1), release=True)  # a release: only 20 held from November
    allowance_charge("178.50", date(2026, 11, 30))
    invoice = written_off(gone, finance, admin, amount="100.00", on=date(2026, 10, 15))

    split = writeoff_split(invoice.write_off_lines.get().write_off)
    assert (split.allowance, split.expense) == (D("20.00"), D("80.00"))
    for day in (date(2026, 10, 15), date(2026, 11, 1), date(2026, 11, 29)):
        assert allowance_at(day) >= 0


def test_allocate_credit_on_the_invoice_settles_only_what_is_due(gone, finance, admin):
    invoice = written_off(gone, finance, admin, part=D("300.00"))
    pay(gone, "500.00", finance, "p")

    made = customer_credit_apply(invoice=invoice, actor=finance)

    (invoice,) = refreshed(invoice)
    assert sum(a.amount for a in made) == D("200.00")
    assert (invoice.amount_written_off, invoice.status) == (D("300.00"), "written_off")
    assert not BadDebtRecovery.objects.exists()
    assert customer_credit(customer=gone, currency="CNY") == D("300.00")
    # a second click finds nothing due and recovers nothing
    assert customer_credit_apply(invoice=invoice, actor=finance) == []
    assert not BadDebtRecovery.objects.exists()
