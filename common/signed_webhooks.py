"""Signed webhooks: how every webhook we send is signed, sent and verified.

Signed like Stripe's: header ``X-Distributor-Signature: t=<unix time>,v1=<hex>`` where ``v1`` is
HMAC-SHA256, keyed with the receiver's secret, over ``"<t>." + raw body``. Receivers recompute it and
reject timestamps older than a few minutes. Balance webhooks (wallets) and gateway events share it, so a
gateway verifies both kinds with the same code.
"""

import hashlib
import hmac
import json
import time

import requests

from common.outgoing_webhooks import webhook_post

SIGNATURE_HEADER = "X-Distributor-Signature"
TIMESTAMP_HEADER = "X-Distributor-Timestamp"
EVENT_HEADER = "X-Distributor-Event-Id"
WEBHOOK_TIMEOUT_SECONDS = 10
# How a Celery task sending one webhook retries (``@shared_task(name=..., **WEBHOOK_RETRIES)``): backing off
# up to an hour, eight times, with the same event id each time so the receiver can drop repeats.
WEBHOOK_RETRIES = {
    "autoretry_for": (requests.RequestException,),
    "retry_backoff": True,
    "retry_backoff_max": 3600,
    "max_retries": 8,
}


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


def signed_webhook_send(*, url: str, secret: str, payload: dict) -> int:
    """POST ``payload`` (with its ``id``) as canonical JSON, signed with ``secret``; return the HTTP status.

    Raises ``requests.RequestException`` on a network error or a non-2xx answer, so the calling task
    retries, and ``WebhookRefused`` when the URL's host is not a public address.
    """
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = int(time.time())
    response = webhook_post(
        url,
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
