"""Celery tasks for usage (routed to the ``ingest`` queue by ``billing.usage.*``): thin, by id."""

from celery import shared_task
from django.utils import timezone

from billing.usage.partitions import month_add, month_start, partitions_ensure
from billing.usage.rerate import usage_rerate
from billing.usage.uploads import UPLOAD_RUN_SECONDS, usage_upload_enqueue, usage_upload_process


@shared_task(name="billing.usage.tasks.usage_rerate_task")
def usage_rerate_task(event_ids: list[int] | None = None) -> dict:
    """Re-rate unrated events (all, or the given ones) in chunks until none rate any more."""
    total = {"rated": 0, "unrated": 0}
    while True:
        result = usage_rerate(event_ids=event_ids)
        total["rated"] += result.accepted
        total["unrated"] = result.unrated
        # Stop when a pass rated nothing: what is left waits for its cause to be fixed.
        if result.accepted == 0 or event_ids is not None:
            return total


@shared_task(name="billing.usage.tasks.usage_upload_process_task", bind=True)
def usage_upload_process_task(self, upload_id: int) -> str:
    """Process an upload for at most ``UPLOAD_RUN_SECONDS``, then queue the rest as a new task: a run
    stays well inside the ingest queue's time limits however large the file. Inline (eager), to the end.
    """
    upload = usage_upload_process(
        upload_id=upload_id, budget=None if self.request.is_eager else UPLOAD_RUN_SECONDS
    )
    if upload is None:
        return "busy"  # another run holds it: this delivery is a repeat
    if upload.state == upload.State.RUNNING:
        # Paused: queue the rest (the queue being down, the sweep will once it is back).
        usage_upload_enqueue(self, upload_id=upload_id)
    return upload.state


@shared_task(name="billing.usage.tasks.usage_partitions_ensure_task")
def usage_partitions_ensure_task(months_ahead: int = 3) -> list[str]:
    """Create this month's and the next months' partitions (schedule monthly with beat)."""
    first = month_start(timezone.now())
    return partitions_ensure(months={month_add(first, i) for i in range(months_ahead + 1)})
