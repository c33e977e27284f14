"""Stripe webhook events: verify, store, then move each through received → processed / ignored / failed.

An event is stored before it is acted on and its handler runs in its own database transaction, so a
handler that fails leaves no half-posting, only the stored event with its error for staff to read and
retry (Stripe also redelivers it, because the endpoint answers 500). Handlers are idempotent twice over:
the event id is unique here, and every posting carries a key derived from the payment.
"""

import json
import logging
import traceback

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.payments import cards, stripe_api
from billing.payments.models import CardTopUp, StripeEvent
from billing.receivables import cards as invoice_cards

logger = logging.getLogger(__name__)


class NotOurs(Exception):
    """The event is about a payment this application did not start (e.g. another integration's)."""


class WebhookRejected(Exception):
    """The request is not a genuine, well-formed Stripe event; answer 400 and store nothing."""


def stripe_event_receive(*, payload: bytes, signature: str) -> tuple[StripeEvent, bool]:
    """Verify and store an incoming event; return it and whether it is new.

    Raises WebhookRejected, before anything is written, for a bad signature or a malformed body.
    """
    try:
        stripe_api.webhook_event_construct(payload=payload, signature=signature)
        data = json.loads(payload)
    except stripe_api.SignatureVerificationError as exc:
        raise WebhookRejected(f"Bad signature: {exc.user_message or exc}") from exc
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError) as exc:
        # The stripe library assumes a JSON object; anything else surfaces as one of these.
        raise WebhookRejected(f"Malformed payload: {exc}") from exc
    obj = data.get("data", {}).get("object") if isinstance(data, dict) else None
    if not (
        isinstance(data.get("id"), str)
        and data["id"].startswith("evt_")
        and isinstance(data.get("type"), str)
        and isinstance(obj, dict)
    ):
        raise WebhookRejected("Malformed payload: an event needs an id, a type and data.object.")
    try:
        with transaction.atomic():
            event = StripeEvent.objects.create(
                stripe_id=data["id"],
                type=data["type"],
                livemode=bool(data.get("livemode")),
                api_version=str(data.get("api_version") or ""),
                object_id=str(obj.get("id") or ""),
                payload=data,
            )
        return event, True
    except IntegrityError:
        return StripeEvent.objects.get(stripe_id=data["id"]), False


def stripe_event_process(*, event: StripeEvent) -> StripeEvent:
    """Run the event's handler unless it already ran; record processed, ignored or failed (with the error)."""
    try:
        with transaction.atomic():
            locked = StripeEvent.objects.select_for_update().get(pk=event.pk)
            if locked.status in {StripeEvent.Status.PROCESSED, StripeEvent.Status.IGNORED}:
                return locked
            handler = HANDLERS.get(locked.type)
            locked.status, locked.error = StripeEvent.Status.IGNORED, "No handler for this type."
            if handler is not None:
                try:
                    with transaction.atomic():
                        handler(locked.payload["data"]["object"])
                    locked.status, locked.error = StripeEvent.Status.PROCESSED, ""
                except NotOurs as exc:
                    locked.error = str(exc)
            locked.attempts += 1
            locked.processed_at = timezone.now()
            locked.save(update_fields=["status", "error", "attempts", "processed_at"])
            return locked
    except Exception as exc:
        logger.exception("Stripe event %s (%s) failed", event.stripe_id, event.type)
        error = "".join(traceback.format_exception_only(exc)).strip()
        StripeEvent.objects.filter(pk=event.pk).update(
            status=StripeEvent.Status.FAILED, error=error[:10_000], attempts=event.attempts + 1
        )
        event.refresh_from_db()
        return event


# --- handlers: each takes data.object (a plain dict) ----------------------------------------------


def _topup_for(obj: dict) -> CardTopUp:
    """Find the top-up a Stripe object belongs to, from the metadata or reference we gave it."""
    metadata = obj.get("metadata") or {}
    public_id = metadata.get("topup") or obj.get("client_reference_id")
    topup = None
    if public_id:
        topup = CardTopUp.objects.filter(public_id=public_id).first()
    if topup is None and obj.get("object") == "checkout.session":
        topup = CardTopUp.objects.filter(stripe_session_id=obj.get("id")).first()
    if topup is None and public_id:
        raise cards.TopUpMismatch(f"No top-up {public_id} for Stripe object {obj.get('id')}.")
    if topup is None:
        raise NotOurs(f"Stripe object {obj.get('id')} does not belong to a top-up started here.")
    return topup


def _topup_for_payment(payment_intent_id: str | None, obj: dict) -> CardTopUp:
    invoice_cards.invoice_payment_reversal_refuse(payment_intent_id=payment_intent_id, obj=obj)
    if payment_intent_id:
        topup = CardTopUp.objects.filter(payment_intent_id=payment_intent_id).first()
        if topup is not None:
            return topup
    return _topup_for(obj)


def _on_checkout_session_paid(session: dict) -> None:
    # checkout.session.completed fires for delayed methods too, with payment_status "unpaid"; those are
    # credited by checkout.session.async_payment_succeeded or payment_intent.succeeded instead.
    if session.get("payment_status") != "paid":
        return
    payment_intent = session.get("payment_intent")
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")
    if not payment_intent:
        raise cards.TopUpMismatch(f"Session {session.get('id')} is paid but names no payment intent.")
    if invoice_payment := invoice_cards.invoice_payment_for(session):
        invoice_cards.invoice_card_payment_settle(
            payment=invoice_payment,
            payment_intent_id=payment_intent,
            amount_minor=int(session["amount_total"]),
            currency=session["currency"],
        )
        return
    cards.card_topup_settle(
        topup=_topup_for(session),
        payment_intent_id=payment_intent,
        amount_minor=int(session["amount_total"]),
        currency=session["currency"],
    )


def _on_checkout_session_expired(session: dict) -> None:
    if invoice_payment := invoice_cards.invoice_payment_for(session):
        invoice_cards.invoice_card_payment_expire(payment=invoice_payment)
        return
    cards.card_topup_expire(topup=_topup_for(session))


def _on_payment_intent_succeeded(intent: dict) -> None:
    if invoice_payment := invoice_cards.invoice_payment_for(intent):
        invoice_cards.invoice_card_payment_settle(
            payment=invoice_payment,
            payment_intent_id=intent["id"],
            amount_minor=int(intent["amount_received"]),
            currency=intent["currency"],
        )
        return
    cards.card_topup_settle(
        topup=_topup_for_payment(intent["id"], intent),
        payment_intent_id=intent["id"],
        amount_minor=int(intent["amount_received"]),
        currency=intent["currency"],
    )


def _on_charge_refunded(charge: dict) -> None:
    cards.card_topup_refund(
        topup=_topup_for_payment(charge.get("payment_intent"), charge),
        refunded_minor=int(charge["amount_refunded"]),
        charge_id=charge["id"],
    )


def _on_dispute_created(dispute: dict) -> None:
    cards.card_topup_dispute(
        topup=_topup_for_payment(dispute.get("payment_intent"), dispute),
        dispute_id=dispute["id"],
        amount_minor=int(dispute["amount"]),
    )


def _on_dispute_closed(dispute: dict) -> None:
    # Only a won dispute gives money back; "lost" leaves the withdrawal booked at creation as final.
    if dispute.get("status") != "won":
        return
    cards.card_topup_dispute_won(
        topup=_topup_for_payment(dispute.get("payment_intent"), dispute),
        dispute_id=dispute["id"],
        amount_minor=int(dispute["amount"]),
    )


HANDLERS = {
    "checkout.session.completed": _on_checkout_session_paid,
    "checkout.session.async_payment_succeeded": _on_checkout_session_paid,
    "checkout.session.expired": _on_checkout_session_expired,
    "payment_intent.succeeded": _on_payment_intent_succeeded,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute_created,
    "charge.dispute.closed": _on_dispute_closed,
}
