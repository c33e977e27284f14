"""Celery tasks for wallets: thin wrappers that load by id, call a service and own the retries.

The balance notices the services enqueue live in ``notification_tasks`` (this module calls the services).
"""

from celery import shared_task

from billing.wallets.expiry import wallet_lots_expire_due
from billing.wallets.status import wallet_reserves_refresh


@shared_task(name="billing.wallets.tasks.wallet_lots_expire_task")
def wallet_lots_expire_task() -> int:
    """Move expired granted and pack credit to breakage (scheduled by beat)."""
    return wallet_lots_expire_due()


@shared_task(name="billing.wallets.tasks.wallet_reserves_refresh_task")
def wallet_reserves_refresh_task() -> int:
    """Restore hard-limit wallets whose reserve ran down while they were suspended (scheduled by beat)."""
    return wallet_reserves_refresh()
