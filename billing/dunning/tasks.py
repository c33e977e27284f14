"""Celery tasks for dunning: thin; the daily run lives in ``services.dunning_run``."""

from celery import shared_task

from billing.dunning.services import dunning_run


@shared_task(name="billing.dunning.tasks.dunning_run_task")
def dunning_run_task() -> dict:
    """Send today's reminders (operator's local date); safe to run more than once a day."""
    return dunning_run().as_dict()
