"""Celery tasks for wallets: thin wrappers that load by id, call a service and own the retries."""

import requests
from celery import shared_task

from billing.wallets.models import Wallet
from billing.wallets.notifications import wallet_email_send, wallet_webhook_send
from billing.wallets.services import wallet_lots_expire_due


@shared_task(
    name="billing.wallets.tasks.notify_wallet_webhook_task",
    autoretry_for=(requests.RequestException,),
    retry_backoff=True,
    retry_backoff_max=3600,
    max_retries=8,
)
def notify_wallet_webhook_task(wallet_id: int, payload: dict) -> int | None:
    """Send one signed balance event; the event id stays the same across retries."""
    wallet = Wallet.objects.select_related("customer").get(pk=wallet_id)
    return wallet_webhook_send(wallet=wallet, payload=payload)


@shared_task(name="billing.wallets.tasks.notify_wallet_email_task", autoretry_for=(OSError,), max_retries=5)
def notify_wallet_email_task(wallet_id: int, payload: dict) -> bool:
    wallet = Wallet.objects.select_related("customer").get(pk=wallet_id)
    return wallet_email_send(wallet=wallet, payload=payload)


@shared_task(name="billing.wallets.tasks.wallet_lots_expire_task")
def wallet_lots_expire_task() -> int:
    """Move expired granted and pack credit to breakage (scheduled by beat)."""
    return wallet_lots_expire_due()
