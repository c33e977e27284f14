"""Celery tasks for invoicing (``billing`` queue): thin, by label and id."""

import logging

from celery import shared_task
from django.utils import timezone

from billing.invoicing.close.services import CloseError, close_period
from billing.invoicing.models import PeriodClose
from billing.invoicing.periods import period_parse, periods_just_ended

logger = logging.getLogger(__name__)


@shared_task(name="billing.invoicing.tasks.period_close_task")
def period_close_task(period: str | None = None, actor_id: int | None = None) -> list[dict]:
    """Close ``period`` ("2026-10", "2026-Q3"); without one, the month that just ended in the operator's
    time zone, and its quarter when the month ended one. Re-running is safe (nothing is made twice)."""
    from accounts.models import User

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    periods = [period_parse(period)] if period else periods_just_ended()
    done = []
    for p in periods:
        try:
            result = close_period(p, actor=actor)
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
