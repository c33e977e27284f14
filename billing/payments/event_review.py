"""Finance's decisions on Stripe events that could not apply by themselves (the "Needs attention" list).

A parked or failed event is closed by hand in one of two ways, each recorded on the event with who,
when and why (docs/payments.md, "Events that need attention"):

- credit what Stripe captured: a payment whose amount differs from the one we asked for, in the same
  currency. The captured money is real cash in our Stripe balance, so the customer is credited with what
  they actually paid (not what was asked), and the event stays on record as a finance decision;
- mark it resolved with a note: finance dealt with it elsewhere (refunded it in Stripe, booked a
  journal, or found that it belongs to another integration).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StaffRole, User
from billing.money import quantize_money
from billing.payments import cards
from billing.payments.models import CardTopUp, StripeEvent
from billing.payments.webhook_handlers import SETTLING_TYPES, NotOurs, settle, settlement_of
from billing.payments.webhooks import stripe_event_lock, waiting_events_apply
from billing.receivables.cards import InvoicePaymentMismatch
from billing.receivables.models import CustomerPayment
from billing.stripe import api as stripe_api
from billing.stripe import objects as stripe_objects

Status, Parked = StripeEvent.Status, StripeEvent.ParkedReason

# What may stop a settling event from applying, even at the captured amount.
_REFUSALS = (cards.TopUpMismatch, InvoicePaymentMismatch, stripe_objects.InvalidObject, NotOurs)


@dataclass(frozen=True)
class CapturedOffer:
    """A settling event finance may apply at what Stripe captured; amounts in major units of ``currency``."""

    captured: Decimal
    expected: Decimal
    currency: str


def captured_offer(event: StripeEvent) -> CapturedOffer | None:
    """Return what crediting the captured amount would credit, or None when it is not an option.

    Only for a settling event parked as a mismatch, in the currency we asked for, of a payment that is
    not settled yet (by this or another payment intent); anything else finance resolve with a note.
    """
    parked_mismatch = event.status == Status.PARKED and event.parked_reason == Parked.MISMATCH
    if not parked_mismatch or event.type not in SETTLING_TYPES:
        return None
    try:
        settlement = settlement_of(event.type, event.payload["data"]["object"])
    except _REFUSALS:
        return None
    if settlement is None:
        return None
    target = settlement.target
    if isinstance(target, CardTopUp):
        expected, settled = target.charged, target.credit_transaction_id is not None
    else:
        expected, settled = target.amount, target.status == CustomerPayment.Status.RECEIVED
    captured = stripe_api.from_minor_units(settlement.amount_minor, settlement.currency)
    if settled or settlement.currency != target.currency or captured <= 0:
        return None
    if target.payment_intent_id and target.payment_intent_id != settlement.payment_intent_id:
        return None
    # The stored amount has the column's three places; the offer speaks the currency's own.
    expected = quantize_money(expected, target.currency)
    return CapturedOffer(captured=captured, expected=expected, currency=target.currency)


def _check(user: User, note: str) -> str:
    if not user.is_active or user.staff_role not in (StaffRole.FINANCE, StaffRole.ADMIN):
        raise PermissionDenied(_("Only finance and admin decide on Stripe events."))
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say what was done about this event, and why.")})
    return note


def _close(event: StripeEvent, *, user: User, resolution: str) -> None:
    event.status = Status.RESOLVED
    event.resolved_by = user
    event.resolved_at = timezone.now()
    event.resolution = resolution[:10_000]
    event.save(update_fields=["status", "resolved_by", "resolved_at", "resolution"])


def stripe_event_resolve(*, event: StripeEvent, user: User, note: str) -> StripeEvent:
    """Close a parked or failed event by hand; nothing is posted, and it never runs again."""
    note = _check(user, note)
    with transaction.atomic(durable=True):
        event = stripe_event_lock(event)
        if event.status not in (Status.PARKED, Status.FAILED):
            raise ValidationError(
                _("Only a parked or failed event can be resolved; this one is %(status)s.")
                % {"status": event.get_status_display()}
            )
        _close(event, user=user, resolution=note)
    return event


def stripe_event_credit_captured(*, event: StripeEvent, user: User, note: str) -> StripeEvent:
    """Apply a mismatched settling event at the amount Stripe captured, then what waited for its payment.

    A top-up is re-priced at the capture (``amounts.captured_split``) and credited; an invoice payment is
    received at the capture and allocated as far as it goes.
    """
    note = _check(user, note)
    with transaction.atomic(durable=True):
        event = stripe_event_lock(event)
        offer = captured_offer(event)
        if offer is None:
            raise ValidationError(
                _("This event cannot be credited at the captured amount; resolve it with a note instead.")
            )
        try:
            with transaction.atomic():
                settle(event.type, event.payload["data"]["object"], accept_captured=True)
        except _REFUSALS as exc:
            raise ValidationError(str(exc)) from exc
        resolution = (
            f"Credited what Stripe captured, {offer.captured} {offer.currency} "
            f"(we asked for {offer.expected} {offer.currency}). {note}"
        )
        _close(event, user=user, resolution=resolution)
        waiting_events_apply(payment_intent_id=event.payment_intent_id)
    return event
