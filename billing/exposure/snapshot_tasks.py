"""The nightly working-capital snapshot (Celery beat, shortly after midnight operator time) and the
minute refresh of today's dashboard figures."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from billing.exposure.snapshots import TREND_DAYS, live_payload_refresh, snapshots_refresh, trend_refresh


@shared_task(name="billing.exposure.snapshot_tasks.capital_snapshot_task")
def capital_snapshot_task(days: int = TREND_DAYS) -> dict:
    """Bring the last ``days`` ended days up to the ledger: take yesterday and any day without a snapshot,
    re-take the days something posted since (a payment entered the next morning, an opening import) takes
    effect on or before; return the days taken and re-taken."""
    yesterday = timezone.localdate() - timedelta(days=1)
    result = snapshots_refresh(until=yesterday, days=days)
    return {
        "day": yesterday.isoformat(),
        "taken": [d.isoformat() for d in result["taken"]],
        "retaken": [d.isoformat() for d in result["retaken"]],
    }


@shared_task(name="billing.exposure.snapshot_tasks.capital_live_task")
def capital_live_task() -> str:
    """Recompute today's dashboard figures into the cache (beat, every minute), so no page waits for them,
    and re-take any day of the float trend the ledger has moved since (usually none: a few index reads)."""
    trend_refresh()
    return live_payload_refresh()["day"]
