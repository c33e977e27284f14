"""Drop raw events older than a horizon.

Be careful: raw events are the evidence behind charges; keep them at least as long as invoices may be
disputed. Rollups (what pages and reconciliation read) are kept, and so are the dedupe keys
(``usage_request_key``): a very late redelivery must still be recognised as a duplicate, not charged again.
"""

from datetime import UTC, datetime, time

from django.db import transaction

from billing.usage.models import UsageEvent
from billing.usage.partitions import (
    is_partitioned,
    month_add,
    month_start,
    partitions_drop_before,
    partitions_list,
)


def usage_retention(*, keep_months: int, now, dry_run: bool = False) -> dict:
    before = month_add(month_start(now), -keep_months)
    with transaction.atomic():
        if is_partitioned():
            doomed = [name for name, start in partitions_list() if start < before]
            if not dry_run:
                partitions_drop_before(month=before)
            dropped = f"partitions {', '.join(doomed) or 'none'}"
        else:
            old = UsageEvent.objects.filter(occurred_at__lt=datetime.combine(before, time.min, tzinfo=UTC))
            count = old.count()
            if not dry_run:
                old.delete()
            dropped = f"{count} events"
    return {"before": before.isoformat(), "dropped": dropped + (" (dry run)" if dry_run else "")}
