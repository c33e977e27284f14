"""Queue a Celery task so that a broker outage is an answer, not a hang or a 500.

``task_queue`` publishes at once or raises ``QueueUnavailable`` within the broker's short timeouts
(``CELERY_BROKER_TRANSPORT_OPTIONS``, ``CELERY_TASK_PUBLISH_RETRY_POLICY`` in settings): a caller that
must tell its user (a staff upload that could not be queued) says so at once.
"""

from celery import Task
from celery.result import AsyncResult
from django.db import transaction
from kombu.exceptions import OperationalError


class QueueUnavailable(Exception):
    """The broker could not be reached to queue ``task_name``; ``reason`` is the connection's error."""

    def __init__(self, task_name: str, reason: str):
        super().__init__(f"The task queue is unreachable; {task_name} was not queued: {reason}")
        self.task_name = task_name
        self.reason = reason


def task_queue(task: Task, *args, **kwargs) -> AsyncResult:
    """Queue ``task(*args, **kwargs)``; raise ``QueueUnavailable`` if the broker cannot be reached.

    Without a broker (eager mode) the task runs here, and what it raises is its own error, not the queue's.
    """
    if task.app.conf.task_always_eager:
        return task.apply_async(args=args, kwargs=kwargs)
    try:
        return task.apply_async(args=args, kwargs=kwargs)
    # kombu wraps the transport's connection errors (refused, timed out, reset) in OperationalError.
    except (OperationalError, ConnectionError, TimeoutError) as exc:
        raise QueueUnavailable(task.name, str(exc)) from exc


def on_commit_queueing(callback, *, task: Task) -> None:
    """Run ``callback``, which queues ``task``, once the current transaction commits (never on rollback).

    With a broker, what it raises is logged, not raised (``robust``): the write has committed and its answer
    must say so. Without one (eager mode) the task runs inside it, and its errors propagate as every error
    does there.
    """
    transaction.on_commit(callback, robust=not task.app.conf.task_always_eager)
