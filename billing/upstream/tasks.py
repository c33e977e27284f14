"""Celery tasks of the upstream ledger: thin, owning retries (the webhook's is in ``alert_tasks``)."""

from dataclasses import asdict

from celery import shared_task

from billing.upstream.daily import upstream_daily_run


@shared_task(name="billing.upstream.tasks.upstream_daily_task")
def upstream_daily_task() -> dict:
    """The daily beat: burn yesterday, expire, accrue, alert (``daily.upstream_daily_run``)."""
    result = asdict(upstream_daily_run())
    return result | {"day": result["day"].isoformat()}
