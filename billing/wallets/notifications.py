"""Outbound balance notifications: e-mail and signed webhooks.

Webhooks are signed like Stripe's: header ``X-Distributor-Signature: t=<unix time>,v1=<hex>`` where
``v1`` is HMAC-SHA256, keyed with the wallet's secret (or ``WALLET_WEBHOOK_SECRET``), over
``"<t>." + raw body``. Receivers recompute it and reject timestamps older than a few minutes.
"""

import hashlib
import hmac
import json
import time

from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext as _
from django.utils.translation import override

from billing.money import money_format
from billing.wallets.models import Wallet
from common.outgoing_webhooks import webhook_post

SIGNATURE_HEADER = "X-Distributor-Signature"
TIMESTAMP_HEADER = "X-Distributor-Timestamp"
EVENT_HEADER = "X-Distributor-Event-Id"
WEBHOOK_TIMEOUT_SECONDS = 10


def webhook_signature(*, body: bytes, secret: str, timestamp: int) -> str:
    """Return the signature header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_signature_verify(*, body: bytes, header: str, secret: str, tolerance: int = 300) -> bool:
    """Return whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of now."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = webhook_signature(body=body, secret=secret, timestamp=timestamp)
    return hmac.compare_digest(expected, header)


def webhook_secret_for(wallet: Wallet) -> str:
    return wallet.webhook_secret or getattr(settings, "WALLET_WEBHOOK_SECRET", "")


def wallet_webhook_send(*, wallet: Wallet, payload: dict) -> int | None:
    """POST ``payload`` to the wallet's webhook URL, signed; return the HTTP status, None if not configured.

    Raises ``requests.RequestException`` on a network error or a non-2xx answer so the task retries, and
    ``WebhookRefused`` when the URL's host is not a public address (``common.outgoing_webhooks``).
    """
    secret = webhook_secret_for(wallet)
    if not wallet.webhook_url or not secret:
        return None
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = int(time.time())
    response = webhook_post(
        wallet.webhook_url,
        body=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: webhook_signature(body=body, secret=secret, timestamp=timestamp),
            TIMESTAMP_HEADER: str(timestamp),
            EVENT_HEADER: payload["id"],
        },
        timeout=WEBHOOK_TIMEOUT_SECONDS,
    )
    return response.status_code


def wallet_email_send(*, wallet: Wallet, payload: dict) -> bool:
    """E-mail the customer about ``payload`` in its language; False when there is no address."""
    recipient = wallet.alert_email or wallet.customer.contact_email
    if not recipient:
        return False
    with override(wallet.customer.language):
        values = {
            "customer": wallet.customer.name,
            # The payload keeps exact amounts for machines; people read them like the wallet page shows them.
            "available": money_format(payload["available"], payload["currency"]),
            "currency": payload["currency"],
            "floor": money_format(payload["floor"], payload["currency"]),
            "threshold": money_format(payload.get("threshold"), payload["currency"]),
        }
        if payload["type"] == "wallet.suspended":
            subject = _("Service suspended: your %(currency)s balance reached its limit") % values
            body = (
                _(
                    "Dear %(customer)s,\n\nyour available %(currency)s balance is %(available)s, "
                    "at or below its limit of %(floor)s, so service is suspended. Top up to restore it.\n"
                )
                % values
            )
        else:
            subject = _("Low balance: %(available)s %(currency)s left") % values
            body = (
                _(
                    "Dear %(customer)s,\n\nyour available %(currency)s balance is %(available)s, "
                    "at or below your alert threshold of %(threshold)s. "
                    "Please top up to avoid interruption.\n"
                )
                % values
            )
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    return True
