"""Celery tasks that tell a customer about their wallet: enqueued after commit by ``billing.wallets.status``.

Apart from ``tasks.py`` (whose scheduled expiry calls the wallet services, which enqueue these) so that no
import runs back from the services to the module that calls them. The task names predate this module and
are kept: messages already queued, and retries waiting, carry them.
"""

from celery import shared_task

from billing.wallets.models import Wallet
from billing.wallets.notifications import wallet_email_send, wallet_webhook_send
from common.signed_webhooks import WEBHOOK_RETRIES


@shared_task(name="billing.wallets.tasks.notify_wallet_webhook_task", **WEBHOOK_RETRIES)
def notify_wallet_webhook_task(wallet_id: int, payload: dict) -> int | None:
    """Send one signed balance event; the event id stays the same across retries."""
    wallet = Wallet.objects.select_related("customer").get(pk=wallet_id)
    return wallet_webhook_send(wallet=wallet, payload=payload)


@shared_task(name="billing.wallets.tasks.notify_wallet_email_task", autoretry_for=(OSError,), max_retries=5)
def notify_wallet_email_task(wallet_id: int, payload: dict) -> bool:
    wallet = Wallet.objects.select_related("customer").get(pk=wallet_id)
    return wallet_email_send(wallet=wallet, payload=payload)
