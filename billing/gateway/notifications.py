"""Tell gateways when a customer is suspended or restored: a signed webhook to every source that asks.

Signed exactly as the wallets' balance webhooks (``billing.wallets.notifications.webhook_signature``),
keyed with the source's own secret, so a gateway verifies both kinds with the same code.
"""

import json
import time
import uuid

from django.db import transaction
from django.utils import timezone

from billing.usage.models import GatewaySource
from billing.wallets.notifications import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_TIMEOUT_SECONDS,
    webhook_signature,
)
from common.outgoing_webhooks import webhook_post


def gateway_event_payload(*, customer, event: str, reason: str, extra: dict | None = None) -> dict:
    return {
        **(extra or {}),
        "id": str(uuid.uuid4()),
        "type": event,
        "created": int(timezone.now().timestamp()),
        "customer": customer.code,
        "keys": list(customer.gateway_keys.filter(is_active=True).values_list("key", flat=True)),
        "reason": reason,
    }


def gateway_event_notify(*, customer, event: str, reason: str, extra: dict | None = None) -> None:
    """After commit: invalidate the cached status and queue one webhook per listening source.

    ``event`` is ``customer.suspended``, ``customer.restored`` or ``customer.credit_limit_crossed``;
    ``reason`` a code (``balance_at_floor``, ``credit_limit``, ``overdue``, ``manual_hold: …``, and their
    ``…_cleared``/``…_settled`` counterparts on restore); ``extra`` adds fields such as the exposure.
    """
    from billing.gateway.status import status_invalidate
    from billing.gateway.tasks import notify_gateway_webhook_task

    payload = gateway_event_payload(customer=customer, event=event, reason=reason, extra=extra)
    source_ids = list(
        GatewaySource.objects.filter(is_active=True).exclude(webhook_url="").values_list("pk", flat=True)
    )
    customer_id = customer.pk

    def send():
        status_invalidate(customer_ids=[customer_id])
        for source_id in source_ids:
            notify_gateway_webhook_task.delay(source_id, payload)

    transaction.on_commit(send)


def gateway_webhook_send(*, source: GatewaySource, payload: dict) -> int | None:
    """POST ``payload`` signed to ``source``; raise on failure so the task retries.

    Only to a public address (``common.outgoing_webhooks``): another raises ``WebhookRefused``.
    """
    if not source.webhook_url or not source.webhook_secret:
        return None
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = int(time.time())
    response = webhook_post(
        source.webhook_url,
        body=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: webhook_signature(body=body, secret=source.webhook_secret, timestamp=timestamp),
            TIMESTAMP_HEADER: str(timestamp),
            EVENT_HEADER: payload["id"],
        },
        timeout=WEBHOOK_TIMEOUT_SECONDS,
    )
    return response.status_code
