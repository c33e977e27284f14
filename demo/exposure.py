"""Demo working capital: the last 90 days' snapshots, so the dashboard's float trend has a line at once.

Call ``load()`` at the end of the demo load, after every posting; a second run takes only the days the
ledger has moved since (none, from the same ledger) and changes nothing.
"""

from datetime import timedelta

from django.utils import timezone

from billing.exposure.snapshots import TREND_DAYS, snapshots_refresh


def load() -> list[tuple[str, str]]:
    snapshots_refresh(until=timezone.localdate() - timedelta(days=1), days=TREND_DAYS)
    return []
