"""Period closes finance starts from the staff page: queued here, run by ``tasks.period_close_task``.

Apart from ``close`` (which the task runs) so that queueing and closing do not import each other.
"""

from billing.invoicing.tasks import period_close_task


def period_close_queue(*, period: str, actor=None, book: str | None = None) -> None:
    """Queue the close of ``period`` ("2026-10", "2026-Q3") on a worker, started by ``actor``, of every
    book or of ``book`` ("operator" or a reseller's code, as ``tasks.period_close_task`` takes it).

    The close writes every customer's invoice and takes minutes, longer than a request may. Queued at
    once rather than on commit: the request writes nothing the close would wait for.
    """
    period_close_task.delay(period, actor.pk if actor is not None else None, book)
