"""Celery tasks of the distribution chain: the monthly agency commission statements (after the close)."""

from celery import shared_task

from billing.chain.commission import commission_statements_issue
from billing.invoicing.periods import period_just_ended, period_parse


@shared_task(name="billing.chain.commission_statements_task")
def commission_statements_task(period: str | None = None) -> int:
    """Issue every agent's statements for ``period`` ("2026-10"; default: the month that just ended)."""
    target = period_parse(period) if period else period_just_ended()
    return len(commission_statements_issue(target))
