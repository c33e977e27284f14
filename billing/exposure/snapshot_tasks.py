"""The nightly working-capital snapshot (Celery beat, shortly after midnight operator time) and the
minute refresh of today's dashboard figures."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from billing.exposure.snapshots import TREND_DAYS, live_payload_refresh, snapshot_take, snapshots_backfill


@shared_task(name="billing.exposure.snapshot_tasks.capital_snapshot_task")
def capital_snapshot_task(days: int = TREND_DAYS) -> dict:
    """Take yesterday's snapshot (again, so it holds the day's final postings and its work queues) and
    back-fill any day of the last ``days`` that has none, from the ledger; return the days taken."""
    yesterday = timezone.localdate() - timedelta(days=1)
    snapshot_take(yesterday)
    filled = snapshots_backfill(until=yesterday - timedelta(days=1), days=days - 1) if days > 1 else []
    return {"day": yesterday.isoformat(), "backfilled": [d.isoformat() for d in filled]}


@shared_task(name="billing.exposure.snapshot_tasks.capital_live_task")
def capital_live_task() -> str:
    """Recompute today's dashboard figures into the cache (beat, every minute), so no page waits for them."""
    return live_payload_refresh()["day"]
