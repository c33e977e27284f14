"""Stripe webhook events: verify, store, then move each through its states.

received → processed | ignored | parked | failed; parked or failed → processed (a retry) or resolved (by
finance). The event is stored before it is acted on and its handler runs in a savepoint, so a handler
that cannot apply leaves no half-posting, only the event and its reason:

- parked, waiting: a refund or dispute that arrived before the payment it takes money back from (Stripe
  does not deliver in order). It is applied in the very transaction that credits that payment.
- parked for finance: the event does not match our record (amount, currency, payment), names a top-up we
  do not have, or lacks a field. Nothing is credited; finance decide on the Stripe events page.
- failed: the handler broke unexpectedly. The error is kept and finance see the event too.

Stripe is answered 2xx for all of these: we keep the event ourselves, and sending the same input again
could not end differently. Only a database that is unavailable is answered 503, so Stripe retries.
Handlers are idempotent twice over: the event id is unique here, and every posting carries a key derived
from the payment.
"""

import json
import logging
import math
import traceback

from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import F
from django.utils import timezone

from billing.payments import cards
from billing.payments.models import StripeEvent
from billing.payments.webhook_handlers import HANDLERS, IGNORED_ON_PURPOSE, NotOurs
from billing.receivables.cards import InvoicePaymentMismatch
from billing.stripe import api as stripe_api
from billing.stripe import objects as stripe_objects

logger = logging.getLogger(__name__)

Status, Parked = StripeEvent.Status, StripeEvent.ParkedReason

# The database being down or a lock timing out says nothing about the event: Stripe should send it again.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)

# Stripe's events nest a few levels deep; a deeper body is not an event (and would be slow to store).
MAX_DEPTH = 32

# Namespace of the advisory locks that serialise one payment's events (PostgreSQL).
_PAYMENT_LOCK_NAMESPACE = 0x53545250  # "STRP"


class WebhookRejected(Exception):
    """The request is not a genuine, well-formed Stripe event; answer 400 and store nothing."""


# --- receiving -------------------------------------------------------------------------------------------


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _storable_fraction(text: str) -> float:
    """A non-integer number of an event, kept only to store the event as Stripe sent it.

    Stripe sends every amount as an integer of minor units, and ``stripe_objects.minor_amount`` refuses
    anything else, so no money is ever read from these: they are rates and percentages. One beyond a
    float's range would be stored as Infinity, which jsonb refuses.
    """
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _check_storable(data) -> None:
    """Refuse what PostgreSQL's jsonb cannot store (a NUL in a string) and absurd nesting, iteratively."""
    stack = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str) and "\x00" in item:
            raise ValueError("a string contains a NUL character")
        if isinstance(item, dict):
            stack.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, list):
            stack.extend((part, depth + 1) for part in item)


def _parse(text: str) -> dict:
    """Parse a verified body into an event with an id, a type and a data.object; raise ValueError if not."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_storable_fraction)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    _check_storable(data)
    body = data.get("data") if isinstance(data, dict) else None
    obj = body.get("object") if isinstance(body, dict) else None
    if not (
        isinstance(obj, dict)
        and isinstance(data.get("id"), str)
        and data["id"].startswith("evt_")
        and len(data["id"]) <= 255
        and isinstance(data.get("type"), str)
        and 0 < len(data["type"]) <= 100
        and isinstance(data.get("api_version") or "", str)
        and len(data.get("api_version") or "") <= 40
    ):
        raise ValueError("an event needs an id, a type and data.object")
    return data


def stripe_event_receive(*, payload: bytes, signature: str) -> tuple[StripeEvent, bool]:
    """Verify and store an incoming event; return it and whether it is new.

    Raises WebhookRejected, before anything is written, for a bad signature or a malformed body.
    """
    try:
        data = _parse(stripe_api.webhook_payload_verify(payload=payload, signature=signature))
    except stripe_api.SignatureVerificationError as exc:
        raise WebhookRejected(f"Bad signature: {exc.user_message or exc}") from exc
    except ValueError as exc:
        raise WebhookRejected(f"Malformed payload: {exc}") from exc
    obj = data["data"]["object"]
    object_id = obj.get("id")
    try:
        with transaction.atomic():
            event = StripeEvent.objects.create(
                stripe_id=data["id"],
                type=data["type"],
                livemode=data.get("livemode") is True,
                api_version=data.get("api_version") or "",
                object_id=object_id[:255] if isinstance(object_id, str) else "",
                payment_intent_id=stripe_objects.event_payment_intent(data["type"], obj),
                payload=data,
            )
        return event, True
    except IntegrityError:
        # The same event delivered twice (possibly at once): the second finds the first and replays it.
        return StripeEvent.objects.get(stripe_id=data["id"]), False


# --- processing ------------------------------------------------------------------------------------------


def _parked_reason(exc: Exception) -> str:
    if isinstance(exc, cards.AwaitingEarlierEvent):
        return Parked.WAITING
    if isinstance(exc, cards.TopUpMismatch | InvoicePaymentMismatch):
        return Parked.MISMATCH
    if isinstance(exc, stripe_objects.InvalidObject):
        return Parked.INVALID
    return ""


def _error_text(exc: Exception) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()[:10_000]


def payment_events_lock(payment_intent_id: str) -> None:
    """Serialise the events of one payment until the transaction ends.

    Without it a refund could find its payment not yet credited and park itself while, concurrently, the
    payment is credited and looks for parked events before the refund's parking is committed: the refund
    would wait forever. SQLite (the embedded demo) has no advisory locks: there the race stays possible,
    one more reason why production runs on PostgreSQL.
    """
    if payment_intent_id and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_PAYMENT_LOCK_NAMESPACE, payment_intent_id]
            )


def stripe_event_lock(event: StripeEvent) -> StripeEvent:
    """Lock ``event``, and the events of its payment, until the transaction ends; return it fresh."""
    payment_events_lock(event.payment_intent_id)
    return StripeEvent.objects.select_for_update().get(pk=event.pk)


def _apply(event: StripeEvent) -> None:
    """Run the handler of ``event`` (locked by the caller) in a savepoint and record how it ended."""
    handler = HANDLERS.get(event.type)
    status, parked = Status.IGNORED, ""
    reason = IGNORED_ON_PURPOSE.get(event.type, "No handler for this type.")
    if handler is not None:
        try:
            with transaction.atomic():
                handler(event.payload["data"]["object"])
            status, reason = Status.PROCESSED, ""
        except NotOurs as exc:
            reason = str(exc)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            parked = _parked_reason(exc)
            if parked:
                status, reason = Status.PARKED, str(exc)
            else:
                logger.exception("Stripe event %s (%s) failed", event.stripe_id, event.type)
                status, reason = Status.FAILED, _error_text(exc)
    event.status, event.parked_reason, event.error = status, parked, reason[:10_000]
    event.attempts += 1
    event.processed_at = timezone.now()
    event.save(update_fields=["status", "parked_reason", "error", "attempts", "processed_at"])


def waiting_events_apply(*, payment_intent_id: str) -> None:
    """Apply the events that waited for this payment, inside the transaction that just booked it.

    Repeats while one applies: a won dispute waits for the dispute's opening, which may itself have waited
    for the payment. Each round moves at least one event out of waiting, or stops.
    """
    if not payment_intent_id:
        return
    while True:
        waiting = list(
            StripeEvent.objects.select_for_update()
            .filter(status=Status.PARKED, parked_reason=Parked.WAITING, payment_intent_id=payment_intent_id)
            .order_by("received_at", "id")
        )
        for event in waiting:
            _apply(event)
        if all(event.parked_reason == Parked.WAITING for event in waiting):
            return


def _record_failure(event: StripeEvent, exc: Exception) -> None:
    try:
        StripeEvent.objects.filter(pk=event.pk).exclude(status__in=StripeEvent.FINAL).update(
            status=Status.FAILED,
            parked_reason="",
            error=_error_text(exc),
            attempts=F("attempts") + 1,
            processed_at=timezone.now(),
        )
    except DatabaseError:
        logger.exception("Could not record the failure of Stripe event %s", event.stripe_id)
        raise exc from None


def stripe_event_process(*, event: StripeEvent) -> StripeEvent:
    """Apply the event unless it already ended, record how it ended, and apply what waited for it.

    Raises a transient database error (after recording it, when the database lets us) so that the caller
    can ask Stripe to send the event again.
    """
    try:
        with transaction.atomic(durable=True):
            locked = stripe_event_lock(event)
            if locked.status not in StripeEvent.FINAL:
                _apply(locked)
                if locked.status == Status.PROCESSED:
                    waiting_events_apply(payment_intent_id=locked.payment_intent_id)
            return locked
    except Exception as exc:
        logger.exception("Stripe event %s (%s) failed", event.stripe_id, event.type)
        _record_failure(event, exc)
        if isinstance(exc, TRANSIENT_ERRORS):
            raise
        event.refresh_from_db()
        return event
