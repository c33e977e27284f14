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
from common.outbox import task_queue_on_commit


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


def risk_flag_fields(flag) -> dict:
    """What a risk flag's webhook says beside its reason: what was measured against what, as decimal
    strings (whole days overdue and the days allowed; or the day's usage and the spike threshold, in the
    terms' currency, full precision), the invoice number or the day, and the credit policy."""
    terms = getattr(flag.customer, "billing_terms", None)
    days = flag.kind == "overdue_days"

    def plain(value):
        if value is None:
            return None
        return str(int(value)) if days else format(value.normalize(), "f")

    return {
        "currency": terms.currency if terms is not None else "",
        "policy": flag.policy,
        "measured": plain(flag.measured),
        "threshold": plain(flag.threshold),
        "detail": flag.detail,
    }


def gateway_event_notify(*, customer, event: str, reason: str, extra: dict | None = None) -> None:
    """After commit: invalidate the cached status and queue one webhook per listening source.

    Neither can fail the write that committed: a cache that cannot be reached is logged, and a webhook the
    broker cannot take is kept in the outbox (``common.outbox``) and sent once the broker is back.

    ``event`` is ``customer.suspended``, ``customer.restored``, ``customer.credit_limit_crossed``,
    ``customer.risk_flagged`` or ``customer.floor_overshoot``; ``reason`` a code (``balance_at_floor``,
    ``balance_reserve``, ``credit_limit``, ``overdue``, ``overdue_days``, ``usage_spike``, ``manual_hold: …``,
    and their ``…_cleared``/``…_settled`` counterparts on
    restore); ``extra`` adds fields such as the exposure.
    """
    payload = gateway_event_payload(customer=customer, event=event, reason=reason, extra=extra)
    source_ids = list(
        GatewaySource.objects.filter(is_active=True).exclude(webhook_url="").values_list("pk", flat=True)
    )
    customer_id = customer.pk
    # Registered first, so runs first: a gateway that reads the status on the webhook sees it afresh.
    transaction.on_commit(lambda: status_invalidate(customer_ids=[customer_id]))
    for source_id in source_ids:
        task_queue_on_commit(notify_gateway_webhook_task, source_id, payload)
