"""Tell gateways when a customer is suspended or restored: a signed webhook to every source that asks.

This module decides what to send and queues it; ``billing.gateway.webhooks`` delivers (the queued task
calls it, so the two live apart and neither imports the other).
"""

import uuid

from django.db import transaction
from django.utils import timezone

from billing.gateway.status import status_invalidate
from billing.gateway.tasks import notify_gateway_webhook_task
from billing.usage.models import GatewaySource


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

    ``event`` is ``customer.suspended``, ``customer.restored``, ``customer.credit_limit_crossed`` or
    ``customer.floor_overshoot``; ``reason`` a code (``balance_at_floor``, ``balance_reserve``,
    ``credit_limit``, ``overdue``, ``manual_hold: …``, and their ``…_cleared``/``…_settled`` counterparts on
    restore); ``extra`` adds fields such as the exposure.
    """
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
