"""The task that sends a low-cover webhook: thin, retrying with the same event id."""

from celery import shared_task

from billing.upstream.models import UpstreamSettings
from common.signed_webhooks import WEBHOOK_RETRIES, signed_webhook_send


@shared_task(name="billing.upstream.alert_tasks.cover_webhook_task", **WEBHOOK_RETRIES)
def cover_webhook_task(payload: dict) -> int | None:
    """Send one signed low-cover event to ``UpstreamSettings.webhook_url``."""
    upstream = UpstreamSettings.load()
    if not upstream.webhook_url or not upstream.webhook_secret:
        return None
    return signed_webhook_send(url=upstream.webhook_url, secret=upstream.webhook_secret, payload=payload)
