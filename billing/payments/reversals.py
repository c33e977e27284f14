"""Reversing a recorded bank payment that bounced or was misposted, re-opening what it paid.

The reversal undoes the money, not the history: the payment's posting is reversed by a new, dated
transaction (Dr receivable / Cr cash), each of its allocations is released by a dated reversal row (the
invoices it settled are due again, and dunning sees them so), and the payment keeps its row, marked as
reversed in full (``CustomerPayment.refunded``). A statement printed for a day before the reversal still
shows the payment as it was.

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
from billing.payments.models import Correction
from billing.receivables.allocations import payment_allocations_release
from billing.receivables.models import CustomerPayment

REASONS = (Correction.Reason.BOUNCED, Correction.Reason.MISPOSTED)


def _live_reversal(payment: CustomerPayment) -> Correction | None:
    return (
        Correction.objects.filter(payment=payment, kind=Correction.Kind.PAYMENT_REVERSAL)
        .exclude(status=Correction.Status.REJECTED)
        .first()
    )


def _already(existing: Correction) -> ValidationError:
    if existing.status == Correction.Status.DONE:
        message = _("This payment was already reversed on %(date)s (correction #%(number)s).")
    else:
        message = _("A reversal of this payment already awaits approval (correction #%(number)s).")
    return ValidationError(message % {"date": existing.effective_date, "number": existing.pk})


def payment_reversal_propose(
    *,
    proposer: User,
    payment: CustomerPayment,
    reason: str,
    note: str,
    returned_on: date,
    idempotency_key: str,
) -> Correction:
    """Propose reversing a received bank payment on ``returned_on``; nothing moves until another approves.

    Refuses a card payment, a payment not received, a date outside [received on, today], and a payment
    that is reversed already or has a reversal pending — each with a message saying which.
    """
    require_money_role(proposer)
    idempotency_key_check(idempotency_key)
    if reason not in REASONS:
        raise ValidationError({"reason": _("Choose bounced or misposted.")})
    note = note_check(note)
    replay = Correction.objects.filter(idempotency_key=idempotency_key).first()
    if replay is None:
        if payment.method != CustomerPayment.Method.BANK:
            raise ValidationError(
                _("Only bank payments are reversed here; a card payment is refunded through Stripe.")
            )
        if payment.status != CustomerPayment.Status.RECEIVED or payment.journal_transaction_id is None:
            raise ValidationError(_("Only a received payment can be reversed."))
        if existing := _live_reversal(payment):
            raise _already(existing)
        if not isinstance(returned_on, date) or returned_on > timezone.localdate():
            raise ValidationError({"returned_on": _("The date cannot be in the future.")})
        if payment.received_on and returned_on < payment.received_on:
            raise ValidationError({"returned_on": _("The date cannot be before the payment was received.")})
        if payment.refunded >= payment.amount:
            raise ValidationError(_("Nothing of this payment is left to reverse."))
    try:
        return correction_create(
            idempotency_key=idempotency_key,
            kind=Correction.Kind.PAYMENT_REVERSAL,
            customer=payment.customer,
            currency=payment.currency,
            amount=payment.amount - payment.refunded,
            reason=reason,
            note=note,
            payment=payment,
            effective_date=returned_on,
            proposed_by=proposer,
        )
    except IntegrityError:
        # Another proposal for the same payment committed between the check and the insert.
        raise _already(_live_reversal(payment)) from None


def payment_reversal_apply(correction: Correction, *, actor: User) -> None:
    """Reverse the payment's money and release its allocations (the caller locked the correction)."""
    payment = CustomerPayment.objects.select_for_update().get(pk=correction.payment_id)
    if payment.amount - payment.refunded != correction.amount:
        raise ValidationError(
            _("The payment changed since the reversal was proposed; reject it and propose it again.")
        )
    key = f"correction:{correction.pk}"
    memo = f"Payment reversed ({correction.get_reason_display()}): {correction.note}"[:500]
    if payment.refunded == 0:
        correction.journal_transaction = postings.payment_reversal_post(
            payment=payment, key=key, memo=memo, effective_date=correction.effective_date, actor=actor
        )
    else:
        # Part of it was refunded already: only the rest goes back, as its own posting.
        correction.journal_transaction = postings.receivable_money_out_post(
            customer=payment.customer,
            currency=payment.currency,
            amount=correction.amount,
            key=key,
            kind=postings.KIND_RECEIVABLE_REFUND,
            memo=memo,
            source=key,
            method=CustomerPayment.Method.BANK,
            effective_date=correction.effective_date,
            actor=actor,
        )
    payment_allocations_release(
        payment=payment, amount=None, at=correction.effective_date, reason=memo, actor=actor
    )
    payment.refunded = payment.amount
    payment.save(update_fields=["refunded"])
