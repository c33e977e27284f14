"""The card refunds finance asked of Stripe through credit refunds, as the rest of the books must count them.

Stripe's charge.refunded reports the charge's running refunded total, and that total includes the refunds
made for credit refunds (``billing.payments.card_refunds``). Those are booked by their correction and never
by the event, so a correction holds its claim on the charge from the moment Stripe is asked:

- booked: the correction is done; its amount is in the top-up's or payment's ``refunded``;
- made: Stripe made the refund (its id is recorded), booked or not yet;
- reserved: asked of Stripe and not booked yet; no other refund may count on that money;
- unconfirmed: asked of Stripe, and Stripe's answer is not recorded (it may or may not have made it).
"""

from dataclasses import dataclass
from decimal import Decimal

from billing.payments.models import Correction

ZERO = Decimal("0")


@dataclass(frozen=True)
class Claims:
    booked: Decimal
    made: Decimal
    reserved: Decimal
    unconfirmed: Correction | None


def _asked(**filters):
    return Correction.objects.filter(
        kind=Correction.Kind.CREDIT_REFUND, method=Correction.Method.CARD, **filters
    ).exclude(status=Correction.Status.REJECTED)


def card_refund_claims(*, card_topup=None, payment=None, exclude_pk: int | None = None) -> Claims:
    """What the credit refunds to one charge (a card top-up's, or an invoice card payment's) claim of it."""
    rows = _asked(card_topup=card_topup) if card_topup is not None else _asked(payment=payment)
    booked = made = reserved = ZERO
    unconfirmed = None
    for row in rows.exclude(pk=exclude_pk).order_by("pk"):
        if row.status == Correction.Status.DONE:
            booked += row.amount
            made += row.amount
        elif row.stripe_refund_id:
            made += row.amount
            reserved += row.amount
        elif row.stripe_refund_requested_at is not None:
            reserved += row.amount
            unconfirmed = unconfirmed or row
    return Claims(booked=booked, made=made, reserved=reserved, unconfirmed=unconfirmed)


def credit_reserved(*, customer, currency: str, source: str, exclude_pk: int | None = None) -> Decimal:
    """The customer's credit of ``source`` that card refunds asked of Stripe will take when booked."""
    rows = _asked(
        customer=customer,
        currency=currency,
        source=source,
        status=Correction.Status.PENDING,
        stripe_refund_requested_at__isnull=False,
    ).exclude(pk=exclude_pk)
    return sum((row.amount for row in rows), ZERO)


def unconfirmed_wait_message(correction: Correction) -> str:
    return (
        f"Credit refund #{correction.pk} was asked of Stripe and its answer is not recorded yet; this "
        "refund report applies once it is (approve the correction again to finish it)."
    )
