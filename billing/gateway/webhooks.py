"""Deliver one gateway event: the signed POST that ``tasks.notify_gateway_webhook_task`` makes.

Signed as every webhook we send (``common.signed_webhooks``), keyed with the source's own secret, so a
gateway verifies balance webhooks and its own events with the same code.
"""

from billing.usage.models import GatewaySource
from common.signed_webhooks import signed_webhook_send


def gateway_webhook_send(*, source: GatewaySource, payload: dict) -> int | None:
    """POST ``payload`` signed to ``source``; raise on failure so the task retries.

    Only to a public address (``common.outgoing_webhooks``): another raises ``WebhookRefused``.
    """
    if not source.webhook_url or not source.webhook_secret:
        return None
    return signed_webhook_send(url=source.webhook_url, secret=source.webhook_secret, payload=payload)
