"""Celery tasks of the reconciliation: thin, by id; the services decide.

``reconcile_daily_task`` (beat, nightly) reconciles the last ``RECHECK_DAYS`` days: each day enters a run
once it is due on its channel, and a late vendor file for a recent day changes the next night's run.
``reconcile_monthly_task`` (beat, early in the month) reconciles the month just closed.
"""

from datetime import date, timedelta

from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.upstream.models import ReconciliationRun
from billing.upstream.reconcile.alert_tasks import reconcile_alert_task, reconcile_webhook_task
from billing.upstream.reconcile.run import reconcile
from catalog.models import Channel

RECHECK_DAYS = 7
# The alert's tasks live in alert_tasks (the run service enqueues them); named here so workers register them.
__all__ = ["reconcile_alert_task", "reconcile_webhook_task"]


@shared_task(name="billing.upstream.reconcile.tasks.reconcile_daily_task")
def reconcile_daily_task() -> int:
    today = timezone.localdate()
    outcome = reconcile(
        date_from=today - timedelta(days=RECHECK_DAYS), date_to=today, kind=ReconciliationRun.Kind.DAILY
    )
    return outcome.run.pk


@shared_task(name="billing.upstream.reconcile.tasks.reconcile_monthly_task")
def reconcile_monthly_task() -> int:
    last = timezone.localdate().replace(day=1) - timedelta(days=1)
    outcome = reconcile(date_from=last.replace(day=1), date_to=last, kind=ReconciliationRun.Kind.MONTHLY)
    return outcome.run.pk


@shared_task(name="billing.upstream.reconcile.tasks.reconcile_task")
def reconcile_task(date_from: str, date_to: str, channel_id: int | None = None, user_id: int | None = None):
    """A run asked for on the page."""
    outcome = reconcile(
        date_from=date.fromisoformat(date_from),
        date_to=date.fromisoformat(date_to),
        channel=Channel.objects.get(pk=channel_id) if channel_id else None,
        user=get_user_model().objects.filter(pk=user_id).first() if user_id else None,
    )
    return outcome.run.pk
