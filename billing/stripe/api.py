"""Every call we make to Stripe, one small function each, with the API version pinned.

This is the only module that imports ``stripe`` and the only place where Decimal amounts become Stripe's
integer minor units and back. Requests go through ``stripe.default_http_client``, which is how the tests
replay recorded responses at the HTTP boundary.
"""

import time
from decimal import Decimal

import stripe
from django.conf import settings

from billing.money import currency_exponent

# Pinned so that the shape of the objects we read (sessions, charges, disputes, webhook events) cannot
# change under us when the account's default version moves. Webhook endpoints must be created with the
# same version (docs/payments.md). Change it only together with the tests' recorded responses.
STRIPE_API_VERSION = "2026-10-28.endive"

SignatureVerificationError = stripe.SignatureVerificationError
StripeError = stripe.StripeError


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Convert ``amount`` (major units) to Stripe's integer minor units; refuse sub-unit precision."""
    scaled = amount.scaleb(currency_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} has more precision than the currency's minor unit.")
    return int(scaled)


def from_minor_units(units: int, currency: str) -> Decimal:
    """Convert Stripe's integer minor units to a Decimal in major units."""
    return Decimal(int(units)).scaleb(-currency_exponent(currency))


def checkout_session_create(
    *,
    idempotency_key: str,
    currency: str,
    line_items: list[tuple[str, Decimal]],
    success_url: str,
    cancel_url: str,
    client_reference_id: str,
    metadata: dict[str, str],
    customer_email: str = "",
    locale: str = "auto",
) -> stripe.checkout.Session:
    """Create a one-off Checkout Session in payment mode; ``line_items`` are (name, amount) pairs."""
    params: dict = {
        "mode": "payment",
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "metadata": metadata,
        # The payment intent carries the same metadata so that payment_intent.* and charge.* events can be
        # matched to the top-up without a further API call.
        "payment_intent_data": {"metadata": metadata},
        "locale": locale,
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": to_minor_units(amount, currency),
                    "product_data": {"name": name},
                },
            }
            for name, amount in line_items
        ],
    }
    if customer_email:
        params["customer_email"] = customer_email
    return stripe.checkout.Session.create(
        api_key=settings.STRIPE_SECRET_KEY,
        stripe_version=STRIPE_API_VERSION,
        idempotency_key=idempotency_key,
        **params,
    )


def webhook_payload_verify(*, payload: bytes, signature: str) -> str:
    """Verify ``signature`` (the Stripe-Signature header) over the raw body; return the body as text.

    Nothing is parsed before the signature holds, so an unsigned body cannot reach the JSON parser. Raises
    SignatureVerificationError for a bad or missing signature, or one whose timestamp is more than the
    tolerance (300 s) from now either way, and ValueError (UnicodeDecodeError) for a body that is not UTF-8.
    """
    text = payload.decode("utf-8")
    tolerance = stripe.Webhook.DEFAULT_TOLERANCE
    stripe.WebhookSignature.verify_header(text, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance)
    # stripe-python refuses only a timestamp too far in the past. One as far ahead is as suspect (signed
    # ahead of time to be replayed later, or by a clock minutes wrong), so the tolerance holds both ways.
    # verify_header has read the header, so its t= is a number.
    timestamp = int(next(item[2:] for item in signature.split(",") if item.startswith("t=")))
    if timestamp > time.time() + tolerance:
        message = f"Timestamp outside the tolerance zone ({timestamp})"
        raise SignatureVerificationError(message, signature, text)
    return text


def refund_create(
    *, idempotency_key: str, payment_intent_id: str, amount: Decimal, currency: str, metadata: dict[str, str]
) -> stripe.Refund:
    """Refund ``amount`` (major units) of a succeeded payment to the card it was paid with."""
    return stripe.Refund.create(
        api_key=settings.STRIPE_SECRET_KEY,
        stripe_version=STRIPE_API_VERSION,
        idempotency_key=idempotency_key,
        payment_intent=payment_intent_id,
        amount=to_minor_units(amount, currency),
        metadata=metadata,
    )
