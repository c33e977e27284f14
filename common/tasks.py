"""Celery tasks of ``common``: the outbox drain (``common.outbox``)."""

from celery import shared_task

from common.outbox import outbox_drain


@shared_task(name="common.tasks.outbox_drain_task")
def outbox_drain_task() -> int:
    """Queue again the tasks kept while the broker was down; return how many were sent (beat, each minute)."""
    return outbox_drain().sent
