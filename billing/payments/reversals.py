"""Reversing a recorded bank payment that bounced or was misposted, re-opening what it paid.

Two kinds of bank payment can be reversed: a credit customer's payment (receivables), and a prepaid
customer's top-up by bank transfer, whose wallet credit is reversed (paid credit only; if it was spent,
the wallet goes below its floor and is suspended like any other).

The reversal undoes the money, not the history: the payment's posting is answered by a new, dated
transaction (Dr receivable / Cr cash, kind ``receivable.payment.reversal``), each of its allocations is
released by a dated reversal row (the invoices it settled are due again, and dunning sees them so), and the
payment keeps its row, marked as reversed in full (``CustomerPayment.refunded``). A statement printed for a
day before the reversal still shows the payment as it was.

Card payments are not reversed here: their money goes back through Stripe, whose refund and dispute
events book it (``billing.payments.invoice_card_events``).
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from billing.payments import postings
from billing.payments.corrections import (
    correction_create,
    idempotency_key_check,
    note_check,
    require_money_role,
)
from billing.payments.models import BankTransfer, Correction
from billing.receivables.allocations import payment_allocations_release
from billing.receivables.models import CustomerPayment
from common.stored_text import choice, stored

REASONS = (Correction.Reason.BOUNCED, Correction.Reason.MISPOSTED)


def _live_reversal(**target) -> Correction | None:
    return (
        Correction.objects.filter(kind=Correction.Kind.PAYMENT_REVERSAL, **target)
        .exclude(status=Correction.Status.REJECTED)
        .first()
    )


def _already(existing: Correction) -> ValidationError:
    if existing.status == Correction.Status.DONE:
        message = _("This payment was already reversed on %(date)s (correction #%(number)s).")
    else:
        message = _("A reversal of this payment already awaits approval (correction #%(number)s).")
    return ValidationError(message % {"date": existing.effective_date, "number": existing.pk})


def _check_dates(returned_on, received_on) -> None:
    if not isinstance(returned_on, date) or returned_on > timezone.localdate():
        raise ValidationError({"returned_on": _("The date cannot be in the future.")})
    if received_on and returned_on < received_on:
        raise ValidationError({"returned_on": _("The date cannot be before the payment was received.")})


def _check_payment(payment: CustomerPayment, returned_on) -> None:
    if payment.method != CustomerPayment.Method.BANK:
        raise ValidationError(
            _("Only bank payments are reversed here; a card payment is refunded through Stripe.")
        )
    if payment.status != CustomerPayment.Status.RECEIVED or payment.journal_transaction_id is None:
        raise ValidationError(_("Only a received payment can be reversed."))
    if existing := _live_reversal(payment=payment):
        raise _already(existing)
    _check_dates(returned_on, payment.received_on)
    if payment.refunded >= payment.amount:
        raise ValidationError(_("Nothing of this payment is left to reverse."))


def _check_transfer(transfer: BankTransfer, returned_on) -> None:
    if existing := _live_reversal(bank_transfer=transfer):
        raise _already(existing)
    if transfer.status != BankTransfer.Status.APPROVED or transfer.credit_transaction_id is None:
        raise ValidationError(_("Only a credited transfer can be reversed."))
    _check_dates(returned_on, transfer.value_date)


def payment_reversal_propose(
    *,
    proposer: User,
    reason: str,
    note: str,
    returned_on: date,
    idempotency_key: str,
    payment: CustomerPayment | None = None,
    bank_transfer: BankTransfer | None = None,
) -> Correction:
    """Propose reversing a received bank payment, or a prepaid top-up by bank transfer, on ``returned_on``.

    Nothing moves until another finance user or an admin approves. Refuses a card payment, a payment not
    received (or a transfer not credited), a date outside [received, today], and a payment that is
    reversed already or has a reversal pending — each with a message saying which.
    """
    require_money_role(proposer)
    idempotency_key_check(idempotency_key)
    if (payment is None) == (bank_transfer is None):
        raise ValueError("Pass a payment or a bank transfer.")
    if reason not in REASONS:
        raise ValidationError({"reason": _("Choose bounced or misposted.")})
    note = note_check(note)
    # Checked against the rows as they are now, not as the caller last saw them.
    if payment is not None:
        payment = CustomerPayment.objects.get(pk=payment.pk)
    else:
        bank_transfer = BankTransfer.objects.get(pk=bank_transfer.pk)
    target = payment or bank_transfer
    replay = Correction.objects.filter(idempotency_key=idempotency_key).first()
    if replay is None:
        if payment is not None:
            _check_payment(payment, returned_on)
        else:
            _check_transfer(bank_transfer, returned_on)
        left = payment.amount - payment.refunded if payment is not None else bank_transfer.amount
    else:
        left = replay.amount  # a replay after approval finds the payment reversed: it is the same proposal
    try:
        return correction_create(
            idempotency_key=idempotency_key,
            kind=Correction.Kind.PAYMENT_REVERSAL,
            customer=target.customer,
            currency=target.currency,
            amount=left,
            reason=reason,
            note=note,
            payment=payment,
            bank_transfer=bank_transfer,
            effective_date=returned_on,
            proposed_by=proposer,
        )
    except IntegrityError:
        # Another proposal for the same payment committed between the check and the insert.
        live = _live_reversal(payment=payment) if payment else _live_reversal(bank_transfer=bank_transfer)
        raise _already(live) from None


def _transfer_reverse(correction: Correction, *, actor: User) -> None:
    """Take a bounced or misposted top-up back out of the wallet's paid credit (below its floor if spent)."""
    transfer = BankTransfer.objects.select_for_update().get(pk=correction.bank_transfer_id)
    if transfer.status != BankTransfer.Status.APPROVED:
        raise ValidationError(_("Only a credited transfer can be reversed."))
    correction.journal_transaction = postings.bank_transfer_reversal_post(
        transfer=transfer,
        key=f"correction:{correction.pk}",
        memo=f"Bank transfer {transfer.reference} reversed ({correction.get_reason_display()}): "
        f"{correction.note}"[:500],
        memo_message=stored(
            "payments.memo.bank_transfer_reversed",
            reference=transfer.reference,
            reason=choice("billing.Correction", "reason", correction.reason),
            note=correction.note,
        ),
        effective_date=correction.effective_date,
        actor=actor,
    )
    transfer.status = BankTransfer.Status.REVERSED
    transfer.save(update_fields=["status"])


def payment_reversal_apply(correction: Correction, *, actor: User) -> None:
    """Reverse the payment's money and release its allocations (the caller locked the correction)."""
    if correction.bank_transfer_id:
        _transfer_reverse(correction, actor=actor)
        return
    payment = CustomerPayment.objects.select_for_update().get(pk=correction.payment_id)
    if payment.amount - payment.refunded != correction.amount:
        raise ValidationError(
            _("The payment changed since the reversal was proposed; reject it and propose it again.")
        )
    key = f"correction:{correction.pk}"
    memo = f"Payment reversed ({correction.get_reason_display()}): {correction.note}"[:500]
    memo_message = stored(
        "payments.memo.payment_reversed",
        reason=choice("billing.Correction", "reason", correction.reason),
        note=correction.note,
    )
    # A posting of its own, not a ledger reversal linked to the payment's: the statement shows the
    # payment received on its day and the money going back on this one, each as what it is.
    correction.journal_transaction = postings.receivable_money_out_post(
        customer=payment.customer,
        currency=payment.currency,
        amount=correction.amount,
        key=key,
        kind=postings.KIND_PAYMENT_REVERSAL,
        memo=memo,
        memo_message=memo_message,
        source=f"payment:{payment.pk}",
        method=CustomerPayment.Method.BANK,
        effective_date=correction.effective_date,
        actor=actor,
    )
    payment_allocations_release(
        payment=payment, amount=None, at=correction.effective_date, reason=memo, actor=actor
    )
    payment.refunded = payment.amount
    payment.save(update_fields=["refunded"])
