"""Celery tasks of the leakage alert, which a stored run enqueues on commit (``run.reconcile``): apart from
``tasks`` so the run service can import them without importing the tasks that call it."""

from celery import shared_task

from billing.upstream.reconcile.alerts import leakage_alert, leakage_webhook_send
from common.signed_webhooks import WEBHOOK_RETRIES


@shared_task(name="billing.upstream.reconcile.tasks.reconcile_alert_task")
def reconcile_alert_task(run_id: int) -> None:
    payload = leakage_alert(run_id)
    if payload is not None:
        reconcile_webhook_task.delay(payload)


@shared_task(name="billing.upstream.reconcile.tasks.reconcile_webhook_task", **WEBHOOK_RETRIES)
def reconcile_webhook_task(payload: dict) -> int | None:
    return leakage_webhook_send(payload)
