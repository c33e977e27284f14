"""The second pair of eyes: approving or rejecting a proposed correction.

Approval applies the correction and records the decision in one durable transaction: its postings, the
released allocations and the decision stand or fall together. A credit refund to a card is the exception:
money leaves at Stripe, which our transaction cannot roll back, so Stripe's refund is recorded in steps of
its own before it is booked (``billing.payments.card_refunds``); such a refund, once asked of Stripe, can
no longer be rejected.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from billing.ledger.exceptions import LedgerError
from billing.payments.card_refunds import card_refund_approve
from billing.payments.corrections import correction_decided, correction_lock_pending
from billing.payments.models import Correction
from billing.payments.refunds import credit_refund_apply
from billing.payments.reversals import payment_reversal_apply

_APPLY = {
    Correction.Kind.PAYMENT_REVERSAL: payment_reversal_apply,
    Correction.Kind.CREDIT_REFUND: credit_refund_apply,
}


def correction_approve(*, correction: Correction, approver: User) -> Correction:
    """Apply a pending correction; the approver is finance or admin staff other than the proposer."""
    if correction.kind == Correction.Kind.CREDIT_REFUND and correction.method == Correction.Method.CARD:
        return card_refund_approve(correction=correction, approver=approver)
    with transaction.atomic(durable=True):
        correction = correction_lock_pending(correction, approver=approver)
        if correction.kind == Correction.Kind.CREDIT_REFUND:
            # A refund leaves on the day it is approved; a reversal keeps the day the bank returned the money.
            correction.effective_date = timezone.localdate()
        try:
            _APPLY[correction.kind](correction, actor=approver)
        except LedgerError as exc:
            # A refusal of the ledger or a wallet (say, a transaction already reversed elsewhere) is a
            # message for finance, and rolls the whole approval back.
            raise ValidationError(str(exc)) from exc
        correction_decided(correction, approver=approver, status=Correction.Status.DONE)
    return correction


def correction_reject(*, correction: Correction, approver: User, reason: str) -> Correction:
    """Refuse a pending correction with a reason; nothing is posted."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the correction is rejected.")})
    with transaction.atomic(durable=True):
        correction = correction_lock_pending(correction, approver=approver)
        if correction.stripe_refund_requested_at is not None or correction.stripe_refund_id:
            raise ValidationError(
                _(
                    "Stripe was asked to make this refund, so it can no longer be rejected: approve it "
                    "again to finish booking it."
                )
            )
        correction.rejection_reason = reason[:500]
        correction_decided(correction, approver=approver, status=Correction.Status.REJECTED)
    return correction
