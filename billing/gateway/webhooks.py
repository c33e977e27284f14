"""Deliver one gateway event: the signed POST that ``tasks.notify_gateway_webhook_task`` makes.

Signed exactly as the wallets' balance webhooks (``billing.wallets.notifications.webhook_signature``),
keyed with the source's own secret, so a gateway verifies both kinds with the same code.
"""

import json
import time

from billing.usage.models import GatewaySource
from billing.wallets.notifications import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_TIMEOUT_SECONDS,
    webhook_signature,
)
from common.outgoing_webhooks import webhook_post


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
