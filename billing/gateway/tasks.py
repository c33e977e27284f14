"""Celery tasks for gateway enforcement: thin, by id, owning retries."""

import requests
from celery import shared_task

from billing.gateway.webhooks import gateway_webhook_send
from billing.usage.models import GatewaySource


@shared_task(
    name="billing.gateway.tasks.notify_gateway_webhook_task",
    autoretry_for=(requests.RequestException,),
    retry_backoff=True,
    retry_backoff_max=3600,
    max_retries=8,
)
def notify_gateway_webhook_task(source_id: int, payload: dict) -> int | None:
    """Send one signed suspended/restored event; the event id stays the same across retries."""
    return gateway_webhook_send(source=GatewaySource.objects.get(pk=source_id), payload=payload)
