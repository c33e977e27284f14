"""Celery tasks for invoicing (``billing`` queue): thin, by label and id."""

import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.invoicing.close.services import ALL_BOOKS, CloseError, close_period
from billing.invoicing.models import PeriodClose
from billing.invoicing.periods import period_parse, periods_just_ended
from billing.invoicing.progressive import progressive_check, progressive_customers

logger = logging.getLogger(__name__)


@shared_task(name="billing.invoicing.tasks.period_close_task")
def period_close_task(
    period: str | None = None, actor_id: int | None = None, book: str | None = None
) -> list[dict]:
    """Close ``period`` ("2026-10", "2026-Q3"); without one, the month that just ended in the operator's
    time zone, and its quarter when the month ended one. Re-running is safe (nothing is made twice).

    ``book``: every book (None, the default), "operator" for the operator's own customers, or a resale
    sub-distributor's code for its customers only, as ``close_period(book=…)`` and ``close_period --book``.
    A code that keeps no book is refused like a period that cannot close: recorded, never retried."""
    from accounts.models import Customer, User

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    periods = [period_parse(period)] if period else periods_just_ended()
    scope, refusal = ALL_BOOKS, ""
    if book == "operator":
        scope = None
    elif book:
        seller = Customer.objects.filter(code=book).first()
        if seller is not None and seller.is_reseller:
            scope = seller
        else:
            refusal = _("%(book)s is not a resale sub-distributor's code (or 'operator').") % {"book": book}
    done = []
    for p in periods:
        try:
            if refusal:
                raise CloseError(refusal)
            result = close_period(p, actor=actor, book=scope)
        except CloseError as exc:
            # Refused (not ended yet, or a later period already closed): retrying cannot help. Recorded
            # as a failed close so the period close page says why, not only the worker's log.
            logger.error("Period close %s refused: %s", p.label, exc)
            PeriodClose.objects.create(
                period=p.label,
                period_start=p.start,
                period_end=p.end,
                state=PeriodClose.State.FAILED,
                error=str(exc),
                finished_at=timezone.now(),
                started_by=actor,
                all_books=scope is ALL_BOOKS,
                book=None if scope is ALL_BOOKS else scope,
            )
            done.append({"period": p.label, "error": str(exc)})
            continue
        done.append(
            {
                "period": p.label,
                "period_close": result.period_close.pk,
                "invoices": len(result.invoices),
                "statements": len(result.statements),
            }
        )
    return done


# While this key is in the cache a check of the customer is queued and has not started measuring, so a
# posting committed meanwhile is seen by it and needs no check of its own (``receivers``). The timeout
# only bounds the wait if that task is lost; the safety net runs anyway.
PROGRESSIVE_PENDING = "progressive-pending:{}"
PROGRESSIVE_PENDING_SECONDS = 300
PROGRESSIVE_CHUNK = 200


@shared_task(name="billing.invoicing.tasks.progressive_check_task")
def progressive_check_task(customer_ids: list[int]) -> list[int]:
    """Issue the interim invoices now due to these customers (``progressive.progressive_check``); return
    their ids. Queued after usage accrued to them (``receivers.unbilled_accrued_receiver``)."""
    # Before measuring: a posting that commits after this line queues a check of its own.
    cache.delete_many([PROGRESSIVE_PENDING.format(cid) for cid in customer_ids])
    return [invoice.pk for invoice in progressive_check(customer_ids)]


@shared_task(name="billing.invoicing.tasks.progressive_billing_task")
def progressive_billing_task() -> int:
    """Safety net: check every customer billed progressively (usage posted some other way, a threshold
    lowered, a queued check lost, the previous period closed since); return how many interim invoices."""
    ids = progressive_customers()
    issued = 0
    for i in range(0, len(ids), PROGRESSIVE_CHUNK):
        issued += len(progressive_check(ids[i : i + PROGRESSIVE_CHUNK]))
    return issued
