"""The outbox: a task that could not be queued because the broker was down is kept, and sent later.

A write that has committed (a usage batch that suspended a customer, an invoice issued) must answer what it
committed, and the notifications it owes (webhooks, e-mails) must not be lost to a broker outage.
``task_queue_on_commit`` queues after commit through ``task_queue_or_keep``: published at once, or, when
``common.task_queue`` says the broker is unreachable, kept as an ``OutboxTask`` row (name, arguments,
when, attempts, last error). ``outbox_drain`` queues the kept rows again, oldest first, and marks each sent;
it runs from beat every minute (``common.tasks.outbox_drain_task``) and when a worker starts
(``common.apps``), so kept notifications go out within a minute of the broker's return.

Order is kept: while a kept task is unsent, a new one is not published ahead of it (a ``customer.restored``
webhook must not reach a gateway before the ``customer.suspended`` kept during the outage). It is kept too,
behind the older ones, and a drain is tried at once, after commit: if the broker answers, the kept tasks go
out first and the new one right after; if not, all of them wait, in order, for the next drain. One drain
sends at a time (an advisory lock on PostgreSQL), so two drains never interleave their rows.

A kept task that the broker is up for but that cannot be queued as kept (its task's arguments changed in a
deploy, say: Celery refuses them) is set aside (``refused_at``, with the error logged and in
``last_error``): it would fail every drain, and, everything new queueing behind it, stop every notification.

Delivery is at least once: a row queued just before its drain dies unmarked is queued again. A webhook
keeps its event id, so its receiver drops the repeat; an e-mail in that window would go twice.
Without a broker (eager mode: tests, no ``REDIS_URL``) the task runs inline, as ``task_queue`` does.
"""

import logging
from dataclasses import dataclass

from celery import Task, current_app
from django.db import connection, transaction
from django.utils import timezone

from common.models import OutboxTask
from common.task_queue import QueueUnavailable, on_commit_queueing, task_queue

logger = logging.getLogger(__name__)

DRAIN_BATCH = 100

# The PostgreSQL advisory lock (transaction level) a drain holds while it sends a batch: one drain at a time,
# so a drain never sends a newer row while another is still sending an older one.
_DRAIN_LOCK = (0x4F555442, 0)  # "OUTB"


def task_queue_or_keep(task: Task, *args, **kwargs) -> OutboxTask | None:
    """Queue ``task(*args, **kwargs)``; if the broker is unreachable keep it in the outbox and return the row.

    While older kept tasks are unsent it is kept behind them and a drain is tried after commit (at once
    outside a transaction); the row is returned if it is still unsent then. Arguments must be JSON (as
    Celery's serializer already requires).
    """
    if _unsent_ahead():
        row = OutboxTask.objects.create(task=task.name, args=list(args), kwargs=kwargs)
        # One batch here, in the request that kept it; beat and workers send a longer backlog.
        on_commit_queueing(lambda: outbox_drain(batches=1), task=task)
        return OutboxTask.objects.filter(pk=row.pk, sent_at__isnull=True).first()
    try:
        task_queue(task, *args, **kwargs)
    except QueueUnavailable as exc:
        logger.warning("Task queue unreachable: %s kept in the outbox until it is back (%s)", task.name, exc)
        return OutboxTask.objects.create(
            task=task.name, args=list(args), kwargs=kwargs, attempts=1, last_error=exc.reason[:2000]
        )
    return None


def task_queue_on_commit(task: Task, *args, **kwargs) -> None:
    """Once the current transaction commits, ``task_queue_or_keep`` the task (never, if it rolls back;
    ``on_commit_queueing`` says what becomes of another error)."""
    on_commit_queueing(lambda: task_queue_or_keep(task, *args, **kwargs), task=task)


@dataclass(frozen=True)
class Drained:
    sent: int
    kept: int  # still unsent: the broker went away again, or the task is not registered here


def _unsent_ahead() -> bool:
    """Whether a kept task that this process can send is still unsent (a new task must then queue behind it).

    The common answer, none, is one look-up in the partial index of unsent rows. A row naming a task no
    longer registered never goes out, so it holds nothing back.
    """
    unsent = _waiting()
    if not unsent.exists():
        return False
    return any(name in current_app.tasks for name in unsent.values_list("task", flat=True).distinct())


def _waiting():
    """The kept tasks still to send: unsent and not set aside."""
    return OutboxTask.objects.filter(sent_at__isnull=True, refused_at__isnull=True)


def outbox_drain(*, batches: int | None = None) -> Drained:
    """Queue every kept task again (or the first ``batches`` batches), oldest first; mark each one sent.
    Stop at the first broker failure.

    A batch at a time, each under the drain lock: a drain that finds another one sending leaves it to that
    one (which goes on to the rows kept since) rather than send newer rows before older ones; at worst a
    row kept at the very end of that drain waits, in order, for the next one.
    """
    sent = 0
    after = 0
    done = 0
    while batches is None or done < batches:
        done += 1
        with transaction.atomic():
            if not _drain_lock_take():
                break
            rows = list(_waiting().select_for_update().filter(pk__gt=after).order_by("pk")[:DRAIN_BATCH])
            if not rows:
                break
            batch_sent, after, broker_down = _batch_send(rows)
        sent += batch_sent
        if broker_down:
            break
    return Drained(sent=sent, kept=outbox_unsent_count())


def _drain_lock_take() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite (development) lets one writer at a time in anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", _DRAIN_LOCK)
        return cursor.fetchone()[0]


def _batch_send(rows: list[OutboxTask]) -> tuple[int, int, bool]:
    """Queue ``rows`` in order; return how many were sent, the last row looked at and whether the broker
    failed."""
    sent = 0
    after = 0
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
            return sent, after, True
        except Exception as exc:
            if task.app.conf.task_always_eager:
                raise  # the task itself ran here and failed: its error, as eager mode shows every error
            logger.exception("Outbox: %s #%s cannot be queued as kept; set aside", row.task, row.pk)
            _failed(row, f"{type(exc).__name__}: {exc}")
            OutboxTask.objects.filter(pk=row.pk).update(refused_at=timezone.now())
            continue
        row.sent_at = timezone.now()
        row.save(update_fields=["sent_at"])
        sent += 1
    return sent, after, False


def _failed(row: OutboxTask, error: str) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    row.save(update_fields=["attempts", "last_error"])


def outbox_unsent_count() -> int:
    """How many kept tasks are still waiting for the broker (or name a task no longer registered); those set
    aside as refused are not waiting."""
    return _waiting().count()
