"""Celery task of the 货不对版 signals: the nightly scan of the past week."""

from celery import shared_task
from django.utils import timezone

from billing.upstream.mismatch.services import mismatch_scan_recent


@shared_task(name="billing.upstream.mismatch.tasks.mismatch_scan_task")
def mismatch_scan_task(days: int = 7) -> dict:
    """Scan the ``days`` complete days before today (operator's zone); late data re-scans on later nights."""
    result = mismatch_scan_recent(today=timezone.localdate(), days=days)
    return {
        "from": result.date_from.isoformat(),
        "to": result.date_to.isoformat(),
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "removed": result.removed,
    }
