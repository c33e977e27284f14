"""Celery tasks for packs and subscriptions: thin wrappers that call a service and own the retries."""

from celery import shared_task

from billing.allowances.charges import charges_due


@shared_task(name="billing.allowances.tasks.allowance_charges_due_task")
def allowance_charges_due_task() -> int:
    """Charge the wallet for subscription months that started and packs it owes (scheduled by beat)."""
    return charges_due()
