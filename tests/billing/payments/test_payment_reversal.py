"""Reversing a bounced or misposted bank payment: proposed by one finance user, approved by another; the
posting is reversed, the invoices it paid are due again by dated release rows, and it happens once."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from billing.dunning.selectors import invoices_really_due
from billing.invoicing.models import Invoice
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.payments.approvals import correction_approve, correction_reject
from billing.payments.bank_transfers import bank_transfer_approve, bank_transfer_record
from billing.payments.models import BankTransfer, Correction
from billing.payments.refunds import credit_refund_propose
from billing.payments.reversals import payment_reversal_propose
from billing.receivables.allocations import invoice_paid_at
from billing.receivables.models import PaymentAllocation
from billing.statements.build import statement_build
from billing.wallets.debits import wallet_debit
from billing.wallets.verify import books_problems
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.payments.correction_helpers import D, bank_payment, books, books_agree, credit_customer
from tests.billing.payments.helpers import balance

pytestmark = pytest.mark.django_db

BOUNCED_ON = date(2026, 11, 25)


@pytest.fixture
def lumen():
    return credit_customer()


@pytest.fixture
def paid(lumen, finance):
    """Two invoices (120.00 and 80.00) paid by one 250.00 transfer: 50.00 stays as credit."""
    first = issued_invoice(lumen, "120.00", issue_date=date(2026, 10, 1))
    second = issued_invoice(lumen, "80.00", issue_date=date(2026, 10, 15))
    payment = bank_payment(lumen, "250.00", finance, key="nov-transfer")
    return payment, first, second


def _propose(payment, user, *, key="rev-1", reason="bounced"):
    return payment_reversal_propose(
        proposer=user,
        payment=payment,
        reason=reason,
        note="Bank returned it: account closed",
        returned_on=BOUNCED_ON,
        idempotency_key=key,
    )


def test_a_reversal_reverses_the_posting_and_reopens_the_invoices(paid, lumen, finance, finance2):
    payment, first, second = paid
    before = books(lumen)
    assert (before["cash"], before["receivable"], before["credit"]) == (D("250.00"), D("-50.00"), D("50.00"))

    proposal = _propose(payment, finance)
    assert books(lumen) == before  # nothing moves on a proposal
    done = correction_approve(correction=proposal, approver=finance2)

    after = books(lumen)
    assert after["cash"] == D("0")
    assert after["receivable"] == D("200.00")
    assert after["credit"] == D("0")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.amount_due) == (Invoice.Status.ISSUED, D("120.00"))
    assert (second.status, second.amount_due) == (Invoice.Status.ISSUED, D("80.00"))
    assert books_agree(lumen)
    # dunning sees both due again: no credit is left to cover them
    assert invoices_really_due(customer_id=lumen.pk, currency="CNY") == {
        first.pk: D("120.00"),
        second.pk: D("80.00"),
    }
    reversal = done.journal_transaction
    assert reversal.kind == "receivable.payment.reversal"
    assert {e.account.code: e.amount for e in reversal.entries.select_related("account")} == {
        "cash_bank:CNY": D("-250.00"),
        f"receivable:CNY:customer={lumen.pk}": D("250.00"),
    }
    assert reversal.effective_date == BOUNCED_ON
    assert (done.status, done.decided_by, done.proposed_by) == ("done", finance2, finance)
    payment.refresh_from_db()
    assert payment.refunded == payment.amount


def test_the_release_is_dated_so_an_earlier_day_still_reads_paid(paid, lumen, finance, finance2):
    payment, first, _second = paid
    before = statement_build(lumen, date(2026, 11, 1), date(2026, 11, 24), strict=True)
    correction_approve(correction=_propose(payment, finance), approver=finance2)

    releases = PaymentAllocation.objects.filter(payment=payment, releases__isnull=False)
    assert sorted(r.amount for r in releases) == [D("-120.00"), D("-80.00")]
    assert invoice_paid_at(first, date(2026, 11, 24)) == D("120.00")
    assert invoice_paid_at(first, BOUNCED_ON) == D("0")
    # A statement up to the day before reads as it did; one through the reversal shows it and reconciles.
    again = statement_build(lumen, date(2026, 11, 1), date(2026, 11, 24), strict=True)
    assert [(r.category, r.decrease) for r in again.sections[0].rows] == [
        (r.category, r.decrease) for r in before.sections[0].rows
    ]
    after = statement_build(lumen, date(2026, 11, 1), date(2026, 11, 30), strict=True)
    assert after.reconciles
    assert after.sections[0].rows[-1].increase == D("250.00")
    assert after.sections[0].closing == D("200.00")


def test_the_proposer_cannot_approve_or_reject_it(paid, finance):
    proposal = _propose(paid[0], finance)

    with pytest.raises(PermissionDenied):
        correction_approve(correction=proposal, approver=finance)
    with pytest.raises(PermissionDenied):
        correction_reject(correction=proposal, approver=finance, reason="no")
    proposal.refresh_from_db()
    assert proposal.status == Correction.Status.PENDING


def test_roles_without_money_rights_cannot_propose_or_approve(paid, finance, sales, auditor):
    with pytest.raises(PermissionDenied):
        _propose(paid[0], sales)
    proposal = _propose(paid[0], finance)
    for user in (sales, auditor):
        with pytest.raises(PermissionDenied):
            correction_approve(correction=proposal, approver=user)


def test_a_second_reversal_is_refused_with_a_clear_message(paid, finance, finance2):
    payment = paid[0]
    first = _propose(payment, finance)

    with pytest.raises(ValidationError, match="already awaits approval"):
        _propose(payment, finance2, key="rev-2")
    correction_approve(correction=first, approver=finance2)
    with pytest.raises(ValidationError, match="already reversed on 2026-11-25"):
        _propose(payment, finance2, key="rev-3")
    with pytest.raises(ValidationError, match="already done"):
        correction_approve(correction=first, approver=finance2)
    assert JournalTransaction.objects.filter(kind="receivable.payment.reversal").count() == 1


def test_a_replayed_proposal_returns_the_first_and_a_changed_one_is_refused(paid, finance, finance2):
    payment = paid[0]
    first = _propose(payment, finance)

    assert _propose(payment, finance) == first
    correction_approve(correction=first, approver=finance2)
    assert _propose(payment, finance) == first  # replayed after approval too
    with pytest.raises(ValidationError, match="different correction"):
        _propose(payment, finance, reason="misposted")


def test_a_rejected_reversal_books_nothing_and_may_be_proposed_again(paid, lumen, finance, finance2):
    payment = paid[0]
    before = books(lumen)
    correction_reject(correction=_propose(payment, finance), approver=finance2, reason="Bank says it cleared")

    assert books(lumen) == before
    again = _propose(payment, finance, key="rev-again")
    assert again.status == Correction.Status.PENDING


@pytest.mark.parametrize(
    ("returned_on", "field"), [(date(2026, 11, 1), "returned_on"), (date(2027, 1, 1), "returned_on")]
)
def test_a_date_outside_the_payment_life_is_refused(paid, finance, returned_on, field):
    with pytest.raises(ValidationError) as exc:
        payment_reversal_propose(
            proposer=finance,
            payment=paid[0],
            reason="bounced",
            note="x",
            returned_on=returned_on,
            idempotency_key="rev-date",
        )
    assert field in exc.value.message_dict


def test_a_part_already_refunded_is_not_reversed_again(paid, lumen, finance, finance2):
    payment = paid[0]
    refund = credit_refund_propose(
        proposer=finance,
        customer=lumen,
        source="receivable",
        method="bank",
        amount=D("30.00"),
        payment=payment,
        note="Part of the overpayment back",
        idempotency_key="refund-30",
    )
    correction_approve(correction=refund, approver=finance2)

    done = correction_approve(correction=_propose(payment, finance), approver=finance2)

    assert done.amount == D("220.00")
    after = books(lumen)
    assert (after["cash"], after["receivable"], after["credit"]) == (D("0"), D("200.00"), D("0"))
    assert books_agree(lumen)


def test_a_bounced_top_up_by_transfer_leaves_the_wallet_even_when_spent(customer, finance, finance2):
    transfer = bank_transfer_record(
        recorder=finance,
        customer=customer,
        currency="CNY",
        amount=D("500.00"),
        reference="TT-20261120-01",
        value_date=date(2026, 11, 20),
    )
    bank_transfer_approve(transfer=transfer, approver=finance2)
    wallet_debit(
        customer=customer,
        currency="CNY",
        amount=D("200.00"),
        idempotency_key="usage-200",
        target_account=account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY"),
        kind="usage.wallet",
        memo="usage",
    )
    proposal = payment_reversal_propose(
        proposer=finance2,
        bank_transfer=transfer,
        reason="bounced",
        note="Returned by the bank",
        returned_on=BOUNCED_ON,
        idempotency_key="tt-rev",
    )

    done = correction_approve(correction=proposal, approver=finance)

    assert balance(customer) == (D("-200.00"), D("0"))
    assert books_problems() == []
    assert account_get(kind=AccountKind.CASH_BANK, currency="CNY").balance == D("0")
    transfer.refresh_from_db()
    assert done.journal_transaction.reverses_id == transfer.credit_transaction_id
    assert transfer.status == BankTransfer.Status.REVERSED
    with pytest.raises(ValidationError, match="already reversed"):
        payment_reversal_propose(
            proposer=finance,
            bank_transfer=transfer,
            reason="bounced",
            note="again",
            returned_on=BOUNCED_ON,
            idempotency_key="tt-rev-2",
        )


def test_a_misposted_transfer_may_be_recorded_again_for_the_right_customer(customer, finance, finance2):
    transfer = bank_transfer_record(
        recorder=finance,
        customer=customer,
        currency="CNY",
        amount=D("80.00"),
        reference="TT-MIS-1",
        value_date=date(2026, 11, 20),
    )
    bank_transfer_approve(transfer=transfer, approver=finance2)
    proposal = payment_reversal_propose(
        proposer=finance,
        bank_transfer=transfer,
        reason="misposted",
        note="Belongs to another customer",
        returned_on=date(2026, 11, 21),
        idempotency_key="mis-rev",
    )
    correction_approve(correction=proposal, approver=finance2)
    right = credit_customer("Right Customer")

    again = bank_transfer_record(
        recorder=finance,
        customer=right,
        currency="CNY",
        amount=D("80.00"),
        reference="TT-MIS-1",
        value_date=date(2026, 11, 20),
    )

    assert again.pk != transfer.pk
    assert balance(customer) == (D("0"), D("0"))
