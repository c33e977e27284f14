"""Demo working capital: the last 90 days' snapshots, so the dashboard's float trend has a line at once.

Call ``load()`` at the end of the demo load, after every posting; a second run retakes the same days
from the same ledger and changes nothing.
"""

from datetime import timedelta

from django.utils import timezone

from billing.exposure.snapshots import TREND_DAYS, snapshot_take


def load() -> list[tuple[str, str]]:
    yesterday = timezone.localdate() - timedelta(days=1)
    for offset in range(TREND_DAYS - 1, -1, -1):
        snapshot_take(yesterday - timedelta(days=offset))
    return []
