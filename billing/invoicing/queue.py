"""Period closes finance starts from the staff page: queued here, run by ``tasks.period_close_task``.

Apart from ``close`` (which the task runs) so that queueing and closing do not import each other.
"""

from billing.invoicing.tasks import period_close_task
from common.task_queue import task_queue


def period_close_queue(*, period: str, actor=None, book: str | None = None) -> None:
    """Queue the close of ``period`` ("2026-10", "2026-Q3") on a worker, started by ``actor``, of every
    book or of ``book`` ("operator" or a reseller's code, as ``tasks.period_close_task`` takes it).

    The close writes every customer's invoice and takes minutes, longer than a request may. Queued at
    once rather than on commit: the request writes nothing the close would wait for.

    Raises ``QueueUnavailable`` when the task queue cannot be reached, for finance to be told now rather
    than kept in the outbox: a close that started by itself later, unattended, is not what they asked for.
    Nothing is recorded before the task runs (it records the close), so nothing is left pending.
    """
    task_queue(period_close_task, period, actor.pk if actor is not None else None, book)
