"""The outbox: a task that could not be queued because the broker was down is kept, and sent later.

A write that has committed (a usage batch that suspended a customer, an invoice issued) must answer what it
committed, and the notifications it owes (webhooks, e-mails) must not be lost to a broker outage.
``task_queue_on_commit`` queues after commit through ``task_queue_or_keep``: published at once, or, when
``common.task_queue`` says the broker is unreachable, kept as an ``OutboxTask`` row (name, arguments,
when, attempts, last error). ``outbox_drain`` queues the kept rows again, oldest first, and marks each sent;
it runs from beat every minute (``common.tasks.outbox_drain_task``) and when a worker starts
(``common.apps``), so kept notifications go out within a minute of the broker's return.

Delivery is at least once: a row queued just before its drain dies unmarked is queued again. A webhook
keeps its event id, so its receiver drops the repeat; an e-mail in that window would go twice.
Without a broker (eager mode: tests, no ``REDIS_URL``) the task runs inline, as ``task_queue`` does.
"""

import logging
from dataclasses import dataclass

from celery import Task, current_app
from django.db import transaction
from django.utils import timezone

from common.models import OutboxTask
from common.task_queue import QueueUnavailable, task_queue

logger = logging.getLogger(__name__)

DRAIN_BATCH = 100


def task_queue_or_keep(task: Task, *args, **kwargs) -> OutboxTask | None:
    """Queue ``task(*args, **kwargs)``; if the broker is unreachable keep it in the outbox and return the row.

    Arguments must be JSON (as Celery's serializer already requires).
    """
    try:
        task_queue(task, *args, **kwargs)
    except QueueUnavailable as exc:
        logger.warning("Task queue unreachable: %s kept in the outbox until it is back (%s)", task.name, exc)
        return OutboxTask.objects.create(
            task=task.name, args=list(args), kwargs=kwargs, attempts=1, last_error=exc.reason[:2000]
        )
    return None


def task_queue_on_commit(task: Task, *args, **kwargs) -> None:
    """Once the current transaction commits, ``task_queue_or_keep`` the task (never, if it rolls back).

    With a broker, another error is logged rather than raised (``robust``): the write has committed and its
    answer must say so. Eager, the task runs inline and its errors propagate, as tests expect.
    """
    robust = not task.app.conf.task_always_eager
    transaction.on_commit(lambda: task_queue_or_keep(task, *args, **kwargs), robust=robust)


@dataclass(frozen=True)
class Drained:
    sent: int
    kept: int  # still unsent: the broker went away again, or the task is not registered here


def outbox_drain() -> Drained:
    """Queue every kept task again, oldest first; mark each one sent. Stop at the first broker failure.

    Rows are claimed ``FOR UPDATE SKIP LOCKED`` a batch at a time, so a beat drain and a worker-start drain
    running together never queue the same row twice.
    """
    sent = 0
    after = 0
    broker_down = False
    while not broker_down:
        with transaction.atomic():
            rows = list(
                OutboxTask.objects.select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True, pk__gt=after)
                .order_by("pk")[:DRAIN_BATCH]
            )
            if not rows:
                break
            for row in rows:
                after = row.pk
                task = current_app.tasks.get(row.task)
                if task is None:
                    # Renamed or removed since it was kept: left unsent and counted, for staff to look at.
                    _failed(row, f"Task {row.task} is not registered in this process.")
                    continue
                try:
                    task_queue(task, *row.args, **row.kwargs)
                except QueueUnavailable as exc:
                    _failed(row, exc.reason)
                    broker_down = True
                    break
                row.sent_at = timezone.now()
                row.save(update_fields=["sent_at"])
                sent += 1
    return Drained(sent=sent, kept=outbox_unsent_count())


def _failed(row: OutboxTask, error: str) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    row.save(update_fields=["attempts", "last_error"])


def outbox_unsent_count() -> int:
    """How many kept tasks are still waiting for the broker (or name a task no longer registered)."""
    return OutboxTask.objects.filter(sent_at__isnull=True).count()
