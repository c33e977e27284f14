"""Celery tasks for gateway enforcement: thin, by id, owning retries."""

from celery import shared_task

from billing.gateway.webhooks import gateway_webhook_send
from billing.usage.models import GatewaySource
from common.signed_webhooks import WEBHOOK_RETRIES


@shared_task(name="billing.gateway.tasks.notify_gateway_webhook_task", **WEBHOOK_RETRIES)
def notify_gateway_webhook_task(source_id: int, payload: dict) -> int | None:
    """Send one signed suspended/restored event; the event id stays the same across retries."""
    return gateway_webhook_send(source=GatewaySource.objects.get(pk=source_id), payload=payload)
