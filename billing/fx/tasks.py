"""Scheduled FX work: realised gain/loss daily, and the month-end revaluation on the 1st."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from billing.fx.realised import fx_realised_post
from billing.fx.revaluation import fx_revaluation_run


@shared_task
def fx_realised_task() -> int:
    """Realise FX on the allocations made up to yesterday (today's may still change)."""
    return len(fx_realised_post(up_to=timezone.localdate() - timedelta(days=1)))


@shared_task
def fx_revaluation_task() -> int:
    """Realise, then revalue, the month that just ended; re-running is safe (idempotent per account)."""
    month_end = timezone.localdate().replace(day=1) - timedelta(days=1)
    fx_realised_post(up_to=month_end)
    return len(fx_revaluation_run(month_end=month_end))
