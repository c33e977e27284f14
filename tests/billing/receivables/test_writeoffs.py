"""Write-offs: proposed by finance, approved by another admin, posted against the allowance; recoveries."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import StaffRole
from billing.invoicing.models import Invoice
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.services import credit, debit, transaction_post
from billing.receivables.credit_notes import credit_note_issue, invoice_void
from billing.receivables.models import BadDebtRecovery, WriteOff
from billing.receivables.services import payment_allocate, payment_record
from billing.receivables.writeoffs import (
    writeoff_approve,
    writeoff_credit_recover,
    writeoff_propose,
    writeoff_reject,
)
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.receivables.conftest import FEB, JAN
from tests.billing.receivables.helpers import books_agree, receivable, refreshed

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def admin():
    return staff(StaffRole.ADMIN)


@pytest.fixture
def second_admin():
    return staff(StaffRole.ADMIN)


def fund_allowance(amount: str, currency: str = "CNY"):
    """An ECL charge: Dr bad-debt expense / Cr allowance for doubtful debts, in the operator's book."""
    transaction_post(
        idempotency_key=f"test.ecl:{amount}:{currency}",
        kind="ecl.allowance",
        lines=[
            debit(account_get(kind=AccountKind.BAD_DEBT_EXPENSE, currency=currency), D(amount), currency),
            credit(account_get(kind=AccountKind.ALLOWANCE_DOUBTFUL, currency=currency), D(amount), currency),
        ],
        effective_date=JAN,
    )


def propose(customer, invoices_amounts, actor, key="wo-1", reason="Customer insolvent", **kwargs):
    return writeoff_propose(
        customer=customer,
        invoices_amounts=invoices_amounts,
        reason=reason,
        actor=actor,
        idempotency_key=key,
        **kwargs,
    )


def pay(customer, amount, actor, key, received_on=date(2026, 6, 1), allocate="oldest"):
    return payment_record(
        customer=customer,
        amount=D(amount),
        currency="CNY",
        received_on=received_on,
        reference=key,
        actor=actor,
        idempotency_key=key,
        allocate=allocate,
    )


def entries(txn: JournalTransaction) -> dict[str, D]:
    return dict(txn.entries.values_list("account__kind", "amount"))


def test_a_write_off_beyond_the_allowance_charges_the_rest_to_expense(acme, finance, admin):
    # given an allowance of 100 and two invoices of 100 and 50
    fund_allowance("100")
    jan = issued_invoice(acme, "100.00", issue_date=JAN)
    feb = issued_invoice(acme, "50.00", issue_date=FEB)

    # when finance proposes all of both and an admin approves
    write_off = propose(acme, None, finance, whole=True)
    assert (write_off.status, write_off.total) == ("proposed", D("150.00"))
    assert receivable(acme) == D("150.00")  # nothing posted before approval
    write_off = writeoff_approve(write_off=write_off, approver=admin)

    # then 100 comes off the allowance, 50 is expense, and the receivable is cleared
    assert entries(write_off.journal_transaction) == {
        AccountKind.ALLOWANCE_DOUBTFUL: D("100"),
        AccountKind.BAD_DEBT_EXPENSE: D("50"),
        AccountKind.RECEIVABLE: D("-150"),
    }
    assert write_off.effective_date == timezone.localdate()
    assert account_get(kind=AccountKind.ALLOWANCE_DOUBTFUL, currency="CNY").balance == 0
    assert receivable(acme) == 0
    refreshed(jan, feb)
    assert [(i.status, i.amount_written_off, i.amount_due) for i in (jan, feb)] == [
        ("written_off", D("100.00"), D("0")),
        ("written_off", D("50.00"), D("0")),
    ]
    assert books_agree(acme)[0] == books_agree(acme)[1]


def test_a_write_off_within_the_allowance_posts_no_expense_and_a_part_leaves_the_rest_due(
    acme, finance, admin
):
    fund_allowance("500")
    invoice = issued_invoice(acme, "300.00", issue_date=JAN)
    write_off = writeoff_approve(write_off=propose(acme, [(invoice, D("120.00"))], finance), approver=admin)
    assert entries(write_off.journal_transaction) == {
        AccountKind.ALLOWANCE_DOUBTFUL: D("120"),
        AccountKind.RECEIVABLE: D("-120"),
    }
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("issued", D("180.00"))
    assert books_agree(acme)[0] == books_agree(acme)[1] == D("180.00")


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT, StaffRole.AUDITOR])
def test_only_finance_or_an_admin_may_propose(acme, role):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    with pytest.raises(PermissionDenied):
        propose(acme, [(invoice, None)], staff(role))
    assert not WriteOff.objects.exists()


def test_four_eyes_the_proposer_finance_and_an_auditor_may_not_approve(acme, admin, second_admin, finance):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    write_off = propose(acme, [(invoice, None)], admin)
    for who in (admin, finance, staff(StaffRole.AUDITOR), staff(StaffRole.SALES)):
        with pytest.raises(PermissionDenied):
            writeoff_approve(write_off=write_off, approver=who)
        with pytest.raises(PermissionDenied):
            writeoff_reject(write_off=write_off, approver=who, reason="no")
    write_off.refresh_from_db()
    assert write_off.status == "proposed" and write_off.journal_transaction_id is None
    # the database holds it too: nobody decides their own proposal
    with pytest.raises(IntegrityError), transaction.atomic():
        WriteOff.objects.filter(pk=write_off.pk).update(decided_by=admin)
    # another admin may
    writeoff_approve(write_off=write_off, approver=second_admin)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.WRITTEN_OFF


def test_a_dunning_proposal_is_decided_by_an_admin_never_by_finance(acme, finance, admin):
    # finance may edit the dunning policy that proposes: finance alone must not also approve
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    write_off = propose(acme, [(invoice, None)], None, origin=WriteOff.Origin.DUNNING)
    assert write_off.proposed_by is None
    with pytest.raises(PermissionDenied):
        writeoff_approve(write_off=write_off, approver=finance)
    with pytest.raises(PermissionDenied):
        writeoff_reject(write_off=write_off, approver=finance, reason="no")
    write_off.refresh_from_db()
    assert write_off.status == "proposed" and write_off.journal_transaction_id is None
    writeoff_approve(write_off=write_off, approver=admin)
    write_off.refresh_from_db()
    assert (write_off.status, write_off.decided_by) == ("approved", admin)


def test_a_payment_since_the_proposal_is_not_written_off(acme, finance, admin):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    write_off = propose(acme, [(invoice, None)], finance)
    pay(acme, "30.00", finance, "p-1")
    write_off = writeoff_approve(write_off=write_off, approver=admin)
    assert write_off.total == D("70.00")
    assert list(write_off.lines.values_list("amount", flat=True)) == [D("70.00")]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_written_off) == (
        "written_off",
        D("30.00"),
        D("70.00"),
    )
    assert books_agree(acme)[0] == books_agree(acme)[1] == 0


def test_a_write_off_whose_invoices_were_paid_since_is_refused(acme, finance, admin):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    write_off = propose(acme, [(invoice, None)], finance)
    pay(acme, "100.00", finance, "p-1")
    with pytest.raises(ValidationError, match="Nothing is due any more"):
        writeoff_approve(write_off=write_off, approver=admin)
    write_off.refresh_from_db()
    assert write_off.status == "proposed" and not JournalTransaction.objects.filter(
        kind="receivable.write_off"
    )


def test_each_bad_invoice_is_named(acme, other, finance):
    paid = issued_invoice(acme, "10.00", issue_date=JAN)
    pay(acme, "10.00", finance, "p-1")
    small = issued_invoice(acme, "40.00", issue_date=FEB)
    theirs = issued_invoice(other, "99.00", issue_date=JAN)
    with pytest.raises(ValidationError) as caught:
        propose(acme, [(paid, None), (small, D("41.00")), (theirs, None)], finance)
    messages = caught.value.message_dict["invoices"]
    assert messages == [
        f"Invoice {paid.number} is paid; nothing is due on it.",
        f"Invoice {small.number} has only 40.00 CNY due.",
        f"Invoice {theirs.number} belongs to another customer.",
    ]
    with pytest.raises(ValidationError) as caught:
        propose(acme, [(small, D("1.005"))], finance, reason="  ")
    assert set(caught.value.message_dict) == {"reason"}
    with pytest.raises(ValidationError, match="at most 2 decimal places"):
        propose(acme, [(small, D("1.005"))], finance)
    assert not WriteOff.objects.exists()


def test_an_invoice_in_a_pending_proposal_or_covered_by_credit_is_refused(acme, finance):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    propose(acme, [(invoice, D("10.00"))], finance)
    with pytest.raises(ValidationError, match="already in a write-off awaiting approval"):
        propose(acme, [(invoice, D("10.00"))], finance, key="wo-2")
    covered = issued_invoice(acme, "50.00", issue_date=FEB)
    # 200 kept as credit covers both invoices: nothing is really due, so nothing may be written off
    pay(acme, "200.00", finance, "p-1", allocate=None)
    with pytest.raises(ValidationError, match="covered by credit"):
        propose(acme, [(covered, None)], finance, key="wo-3")


def test_the_same_key_replays_and_a_different_body_is_refused(acme, finance):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    first = propose(acme, [(invoice, D("10.00"))], finance)
    assert propose(acme, [(invoice, D("10.00"))], finance) == first
    with pytest.raises(ValidationError, match="already used for a different write-off"):
        propose(acme, [(invoice, D("11.00"))], finance)
    assert WriteOff.objects.count() == 1


def test_approval_twice_posts_once_and_the_effective_date_is_checked(acme, finance, admin):
    invoice = issued_invoice(acme, "100.00", issue_date=FEB)
    write_off = propose(acme, [(invoice, None)], finance)
    with pytest.raises(ValidationError, match="future"):
        writeoff_approve(
            write_off=write_off, approver=admin, effective_date=timezone.localdate() + timedelta(1)
        )
    with pytest.raises(ValidationError, match="cannot be earlier"):
        writeoff_approve(write_off=write_off, approver=admin, effective_date=JAN)
    writeoff_approve(write_off=write_off, approver=admin, effective_date=date(2026, 4, 30))
    with pytest.raises(ValidationError, match="already decided"):
        writeoff_approve(write_off=write_off, approver=admin)
    txn = JournalTransaction.objects.get(kind="receivable.write_off")
    assert txn.effective_date == date(2026, 4, 30)


def test_reject_needs_a_reason_and_posts_nothing(acme, finance, admin):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    write_off = propose(acme, [(invoice, None)], finance)
    with pytest.raises(ValidationError):
        writeoff_reject(write_off=write_off, approver=admin, reason=" ")
    write_off = writeoff_reject(write_off=write_off, approver=admin, reason="They will pay")
    invoice.refresh_from_db()
    assert (write_off.status, write_off.rejection_reason) == ("rejected", "They will pay")
    assert (invoice.status, invoice.amount_written_off) == ("issued", 0)
    assert receivable(acme) == D("100.00")


def test_a_payment_allocated_to_a_written_off_invoice_is_a_recovery(acme, finance, admin):
    # given 100 written off on 2026-04-30
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    writeoff_approve(
        write_off=propose(acme, [(invoice, None)], finance), approver=admin, effective_date=date(2026, 4, 30)
    )
    # when the customer pays 60 on 2026-06-01 and finance allocates it to the invoice
    payment = pay(acme, "60.00", finance, "p-1", allocate=invoice)

    # then 60 of the write-off is reversed: Dr receivable / Cr bad debts recovered, dated the payment's day
    recovery = BadDebtRecovery.objects.get()
    assert (recovery.amount, recovery.recovered_on, recovery.payment) == (
        D("60.00"),
        date(2026, 6, 1),
        payment,
    )
    assert entries(recovery.journal_transaction) == {
        AccountKind.RECEIVABLE: D("60"),
        AccountKind.BAD_DEBT_RECOVERED: D("-60"),
    }
    assert recovery.journal_transaction.effective_date == date(2026, 6, 1)
    invoice.refresh_from_db()
    assert (invoice.amount_written_off, invoice.amount_paid, invoice.status) == (
        D("40.00"),
        D("60.00"),
        "written_off",
    )
    assert receivable(acme) == 0
    assert books_agree(acme)[0] == books_agree(acme)[1] == 0


def test_credit_applied_automatically_never_recovers_but_finance_may_apply_it(acme, finance, admin):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    writeoff_approve(write_off=propose(acme, [(invoice, None)], finance), approver=admin)
    payment = pay(acme, "150.00", finance, "p-1")  # "oldest first": no open invoice takes it
    assert not payment.allocations.exists() and not BadDebtRecovery.objects.exists()

    made = writeoff_credit_recover(invoice=invoice, actor=finance)

    assert [a.amount for a in made] == [D("100.00")]
    invoice.refresh_from_db()
    assert (invoice.amount_written_off, invoice.status) == (0, "paid")
    assert BadDebtRecovery.objects.get().amount == D("100.00")
    assert receivable(acme) == D("-50.00")  # 50 left as credit
    assert books_agree(acme)[0] == books_agree(acme)[1]
    # chosen amounts beyond what was due or written off are refused
    with pytest.raises(ValidationError, match="nothing is due"):
        payment_allocate(payment=payment, allocations=[(invoice, D("1.00"))], actor=finance)


def test_a_written_off_amount_cannot_be_credited_again_nor_the_invoice_voided(acme, finance, admin):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    writeoff_approve(write_off=propose(acme, [(invoice, D("70.00"))], finance), approver=admin)
    with pytest.raises(
        ValidationError, match=r"70\.00 CNY written off as bad debt: a credit note may take at most 30\.00"
    ):
        credit_note_issue(
            invoice=invoice, reason="Goodwill", actor=finance, idempotency_key="cn", amount=D("40.00")
        )
    with pytest.raises(ValidationError, match="cannot be voided"):
        invoice_void(invoice=invoice, reason="Wrong customer", actor=finance)
    credit_note_issue(
        invoice=invoice, reason="Goodwill", actor=finance, idempotency_key="cn2", amount=D("30.00")
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("written_off", 0)
    assert books_agree(acme)[0] == books_agree(acme)[1] == 0
