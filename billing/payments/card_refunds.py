"""Approving a credit refund to a card: Stripe first, then the books, with the refund never unrecorded.

A refund made at Stripe cannot be rolled back with our transaction, so the approval records it in steps
that each commit:

1. The correction is marked as asked of Stripe before Stripe is asked. From then on, a charge.refunded
   for the charge waits (``billing.payments.refund_claims``): it could not tell this refund from one made
   in Stripe's dashboard.
2. With the payment's events, the correction and what it refunds from locked, the refundable amount is
   checked again, Stripe is asked (keyed by the correction, so it makes the refund once), the refund id
   is saved, and the refund is booked in a savepoint. If the booking fails, the refund id still commits
   and the correction stays pending: approving again books it without asking Stripe again, and
   charge.refunded counts it as the correction's, never as a refund of its own.
3. Stripe refusing clears the mark. Stripe not answering (the network) keeps it: approving again asks
   with the same idempotency key, and Stripe answers with the refund it made, if it made one (Stripe
   keeps keys for 24 hours: approve again within a day, or check the charge in Stripe first).

Events that waited for the refund are applied as soon as its answer is recorded.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from billing.payments.corrections import correction_decided, correction_lock_pending
from billing.payments.models import Correction
from billing.payments.refunds import credit_refund_book, refund_limit_check, refund_targets_lock
from billing.payments.webhooks import payment_events_lock, waiting_events_apply
from billing.stripe import api as stripe_api

logger = logging.getLogger(__name__)


def _intent(correction: Correction) -> str:
    target = correction.payment if correction.payment_id else correction.card_topup
    return target.payment_intent_id


def _mark_asked(correction: Correction, *, approver: User) -> tuple[Correction, bool]:
    """Commit the mark "asked of Stripe"; return the correction and whether an earlier ask went unanswered."""
    with transaction.atomic(durable=True):
        correction = correction_lock_pending(correction, approver=approver)
        unanswered = correction.stripe_refund_requested_at is not None
        if not correction.stripe_refund_id and not unanswered:
            payment, topup = refund_targets_lock(correction)
            refund_limit_check(correction, payment=payment, card_topup=topup)
            correction.stripe_refund_requested_at = timezone.now()
            correction.save(update_fields=["stripe_refund_requested_at"])
    return correction, unanswered


def _refused(exc: stripe_api.StripeError) -> bool:
    """Whether Stripe answered and refused (so no refund exists), as opposed to not answering at all."""
    return isinstance(exc.http_status, int) and 400 <= exc.http_status < 500


def _ask_stripe(correction: Correction, *, intent: str, check: bool, payment, topup) -> Exception | None:
    """Ask Stripe for the refund and save its id; return why not (the mark is cleared when none exists)."""
    try:
        if check:
            refund_limit_check(correction, payment=payment, card_topup=topup)
        refund = stripe_api.refund_create(
            idempotency_key=f"correction:{correction.pk}",
            payment_intent_id=intent,
            amount=correction.amount,
            currency=correction.currency,
            metadata={"correction": str(correction.pk), "customer": str(correction.customer_id)},
        )
    except ValidationError as exc:
        failure = exc
    except stripe_api.StripeError as exc:
        if not _refused(exc):
            return ValidationError(
                _(
                    "Stripe did not answer whether it made the refund; nothing was booked. Approve again: "
                    "Stripe makes it at most once. (%(message)s)"
                )
                % {"message": exc.user_message or str(exc)}
            )
        failure = ValidationError(
            _("Stripe refused the refund; nothing was booked: %(message)s")
            % {"message": exc.user_message or str(exc)}
        )
    else:
        correction.stripe_refund_id = refund["id"]
        correction.save(update_fields=["stripe_refund_id"])
        return None
    correction.stripe_refund_requested_at = None
    correction.save(update_fields=["stripe_refund_requested_at"])
    return failure


def _book(correction: Correction, *, approver: User, payment, topup) -> Exception | None:
    """Book the refund Stripe made, in a savepoint: if it fails, the refund id recorded stays."""
    correction.effective_date = timezone.localdate()
    try:
        with transaction.atomic():
            credit_refund_book(correction, payment=payment, card_topup=topup, actor=approver)
            correction_decided(correction, approver=approver, status=Correction.Status.DONE)
    except Exception as exc:
        logger.exception("Booking the card refund of correction %s failed", correction.pk)
        correction.journal_transaction = None
        return ValidationError(
            _(
                "Stripe made the refund (%(refund)s), but booking it failed: %(error)s. Approve again to "
                "book it; Stripe is not asked again."
            )
            % {"refund": correction.stripe_refund_id, "error": exc}
        )
    return None


def card_refund_approve(*, correction: Correction, approver: User) -> Correction:
    """Approve a pending credit refund to a card: ask Stripe, record its refund, book it (see above)."""
    correction, unanswered = _mark_asked(correction, approver=approver)
    intent = _intent(correction)
    with transaction.atomic(durable=True):
        # The charge's events wait while the refund is made and booked; they are applied after it.
        payment_events_lock(intent)
        correction = correction_lock_pending(correction, approver=approver)
        payment, topup = refund_targets_lock(correction)
        failure = None
        if not correction.stripe_refund_id:
            failure = _ask_stripe(
                correction, intent=intent, check=not unanswered, payment=payment, topup=topup
            )
        if correction.stripe_refund_id:
            failure = _book(correction, approver=approver, payment=payment, topup=topup)
        waiting_events_apply(payment_intent_id=intent)
    if failure is not None:
        raise failure
    return correction
