"""What each Stripe event type does to our records, given its ``data.object`` (a plain dict).

A handler applies completely or raises, inside the savepoint its caller gives it, to say why not:

- ``NotOurs``: the event is about a payment this application did not start; it is ignored.
- ``cards.AwaitingEarlierEvent``: a refund or dispute of a payment not credited yet; it waits.
- ``cards.TopUpMismatch``, ``receivables.cards.InvoicePaymentMismatch``: it does not match our record.
- ``stripe_objects.InvalidObject``: a field it needs is missing or malformed.

The caller (``billing.payments.webhooks``) turns these into the event's state; see docs/payments.md.
"""

import uuid
from dataclasses import dataclass
from functools import partial

from billing.payments import cards, invoice_card_events
from billing.payments.models import CardTopUp
from billing.receivables import cards as invoice_cards
from billing.receivables.models import CustomerPayment
from billing.stripe import objects as stripe_objects


class NotOurs(Exception):
    """The event is about a payment this application did not start (e.g. another integration's)."""


def _invoice_payment(obj: dict):
    stripe_objects.metadata(obj)  # refuse a malformed metadata before the receivables code reads it
    return invoice_cards.invoice_payment_for(obj)


def _topup_for(obj: dict, payment_intent_id: str | None = None) -> CardTopUp:
    """Find the top-up a Stripe object belongs to: by its payment once credited, else by our reference."""
    if payment_intent_id:
        topup = CardTopUp.objects.filter(payment_intent_id=payment_intent_id).first()
        if topup is not None:
            return topup
    reference = stripe_objects.metadata(obj).get("topup") or obj.get("client_reference_id")
    reference = reference if isinstance(reference, str) else None
    topup = None
    if reference:
        try:
            topup = CardTopUp.objects.filter(public_id=uuid.UUID(reference)).first()
        except ValueError:
            topup = None
    if topup is None and obj.get("object") == "checkout.session" and isinstance(obj.get("id"), str):
        topup = CardTopUp.objects.filter(stripe_session_id=obj["id"]).first()
    if topup is None and reference:
        raise cards.TopUpMismatch(f"No top-up {reference[:80]!r} for Stripe object {obj.get('id')}.")
    if topup is None:
        raise NotOurs(f"Stripe object {obj.get('id')} does not belong to a top-up started here.")
    if payment_intent_id and topup.payment_intent_id and topup.payment_intent_id != payment_intent_id:
        raise cards.TopUpMismatch(
            f"Top-up {topup.public_id} was paid by {topup.payment_intent_id}; "
            f"{obj.get('id')} is about {payment_intent_id}."
        )
    return topup


def _paid_topup(obj: dict, payment_intent_id: str | None) -> CardTopUp:
    """Find the top-up a refund or dispute takes money back from."""
    stripe_objects.metadata(obj)
    try:
        return _topup_for(obj, payment_intent_id)
    except NotOurs:
        if not payment_intent_id:
            raise
        # A dispute carries no metadata, and a refund may overtake its payment: a payment we do not know yet
        # may still be ours. It waits; finance resolve it if the payment never comes (another integration's).
        raise cards.AwaitingEarlierEvent(
            f"No payment {payment_intent_id} has been credited here yet; the event applies when it is. "
            "If it never is, the payment was not made through this application."
        ) from None


def _taken_back_from(obj: dict) -> tuple[str | None, CustomerPayment | None]:
    """The payment intent a refund or dispute is about, and its invoice payment if it is one."""
    payment_intent_id = stripe_objects.optional_stripe_id(obj, "payment_intent")
    return payment_intent_id, invoice_card_events.invoice_payment_of(obj, payment_intent_id)


# --- settling a payment ---------------------------------------------------------------------------------

# Settling events: finance may apply one at the amount Stripe captured (``accept_captured``).
SETTLING_TYPES = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "payment_intent.succeeded",
)


@dataclass(frozen=True)
class Settlement:
    """What a settling event says was paid, and the top-up or invoice payment it pays."""

    target: CardTopUp | CustomerPayment
    payment_intent_id: str
    amount_minor: int
    currency: str


def settlement_of(event_type: str, obj: dict) -> Settlement | None:
    """Read a settling event; None for a Checkout Session that is not paid yet.

    checkout.session.completed fires for delayed methods too, with payment_status "unpaid"; those are
    credited by checkout.session.async_payment_succeeded or payment_intent.succeeded instead.
    """
    session = event_type.startswith("checkout.session.")
    if session and obj.get("payment_status") != "paid":
        return None
    payment_intent_id = stripe_objects.stripe_id(obj, "payment_intent" if session else "id")
    # Ours first: the fields of another integration's payment are none of our business.
    target = _invoice_payment(obj) or _topup_for(obj, payment_intent_id)
    amount_minor = stripe_objects.minor_amount(obj, "amount_total" if session else "amount_received")
    return Settlement(target, payment_intent_id, amount_minor, stripe_objects.currency(obj))


def settle(event_type: str, obj: dict, *, accept_captured: bool = False) -> None:
    """Credit the top-up or receive the invoice payment a settling event pays, once per payment intent."""
    settlement = settlement_of(event_type, obj)
    if settlement is None:
        return
    common = {
        "payment_intent_id": settlement.payment_intent_id,
        "amount_minor": settlement.amount_minor,
        "currency": settlement.currency,
        "accept_captured": accept_captured,
    }
    if isinstance(settlement.target, CardTopUp):
        cards.card_topup_settle(topup=settlement.target, **common)
    else:
        invoice_cards.invoice_card_payment_settle(payment=settlement.target, **common)


def _on_checkout_session_expired(session: dict) -> None:
    if invoice_payment := _invoice_payment(session):
        invoice_cards.invoice_card_payment_expire(payment=invoice_payment)
        return
    cards.card_topup_expire(topup=_topup_for(session))


# --- taking money back, giving it back -----------------------------------------------------------------


def _on_charge_refunded(charge: dict) -> None:
    charge_id = stripe_objects.stripe_id(charge)
    refunded_minor = stripe_objects.minor_amount(charge, "amount_refunded")
    currency = stripe_objects.currency(charge)
    payment_intent_id, invoice_payment = _taken_back_from(charge)
    if invoice_payment is not None:
        invoice_card_events.invoice_card_refund(
            payment=invoice_payment, refunded_minor=refunded_minor, currency=currency, charge_id=charge_id
        )
        return
    topup = _paid_topup(charge, payment_intent_id)
    cards.card_topup_refund(
        topup=topup, refunded_minor=refunded_minor, currency=currency, charge_id=charge_id
    )


def _on_dispute_withdrawn(dispute: dict) -> None:
    """charge.dispute.created and .funds_withdrawn: whichever comes first takes the money back."""
    dispute_id = stripe_objects.stripe_id(dispute)
    amount_minor = stripe_objects.minor_amount(dispute, "amount")
    currency = stripe_objects.currency(dispute)
    payment_intent_id, invoice_payment = _taken_back_from(dispute)
    if invoice_payment is not None:
        invoice_card_events.invoice_card_dispute(
            payment=invoice_payment, dispute_id=dispute_id, amount_minor=amount_minor, currency=currency
        )
    else:
        topup = _paid_topup(dispute, payment_intent_id)
        cards.card_topup_dispute(
            topup=topup, dispute_id=dispute_id, amount_minor=amount_minor, currency=currency
        )
    invoice_card_events.dispute_fees_book(dispute)


def _on_dispute_reinstated(dispute: dict) -> None:
    """charge.dispute.funds_reinstated, and .closed as won: whichever comes first gives the money back."""
    dispute_id = stripe_objects.stripe_id(dispute)
    amount_minor = stripe_objects.minor_amount(dispute, "amount")
    currency = stripe_objects.currency(dispute)
    payment_intent_id, invoice_payment = _taken_back_from(dispute)
    if invoice_payment is not None:
        invoice_card_events.invoice_card_dispute_reinstated(
            payment=invoice_payment, dispute_id=dispute_id, currency=currency
        )
    else:
        topup = _paid_topup(dispute, payment_intent_id)
        cards.card_topup_dispute_won(
            topup=topup, dispute_id=dispute_id, amount_minor=amount_minor, currency=currency
        )
    invoice_card_events.dispute_fees_book(dispute)


def _on_dispute_closed(dispute: dict) -> None:
    # Only a won dispute gives money back; "lost" leaves the withdrawal booked at creation as final.
    if dispute.get("status") == "won":
        _on_dispute_reinstated(dispute)
    else:
        invoice_card_events.dispute_fees_book(dispute)


HANDLERS = {
    **{event_type: partial(settle, event_type) for event_type in SETTLING_TYPES},
    "checkout.session.expired": _on_checkout_session_expired,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute_withdrawn,
    "charge.dispute.funds_withdrawn": _on_dispute_withdrawn,
    "charge.dispute.funds_reinstated": _on_dispute_reinstated,
    "charge.dispute.closed": _on_dispute_closed,
}

# Types a Stripe endpoint may be sent that we store and ignore on purpose, with the reason kept.
IGNORED_ON_PURPOSE = {
    # charge.refunded announces the same refund with the charge's running total, and that is what books
    # it; booking refund.* too would take the money back twice.
    "refund.created": "Refunds are booked from charge.refunded, which Stripe sends for the same refund.",
    "refund.updated": "Refunds are booked from charge.refunded, which Stripe sends for the same refund.",
}
