"""Celery task of expected credit loss: the month-end run, booked on the 1st (``billing`` queue)."""

import logging
from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from accounts.models import Customer
from billing.exposure.ecl_history import EclError
from billing.exposure.ecl_post import ecl_post
from billing.exposure.models import EclRun
from billing.fx.rates import FxRatesMissing
from billing.money import money_text

logger = logging.getLogger(__name__)


def previous_month_end(today: date) -> date:
    return today.replace(day=1) - timedelta(days=1)


@shared_task(name="billing.exposure.ecl_tasks.ecl_monthly_task")
def ecl_monthly_task(as_of: str | None = None, book: str | None = None) -> dict:
    """Book the change in the allowance as of the end of the month that just ended (or ``as_of``,
    YYYY-MM-DD) with the configured matrix; origin monthly. Re-running is safe: the same figures post
    nothing twice.

    ``book``: a resale sub-distributor's code for its own book; default the operator's. A run that cannot
    be made (derived rates with no history, a missing exchange rate for the history, a later run) is
    logged and answered, never retried: retrying cannot change it.
    """
    day = date.fromisoformat(as_of) if as_of else previous_month_end(timezone.localdate())
    book_id = None
    if book:
        seller = Customer.objects.filter(code=book).first()
        if seller is None or not seller.is_reseller:
            logger.error("ECL monthly run: %r is not a resale sub-distributor's code.", book)
            return {"as_of": day.isoformat(), "error": f"{book!r} is not a resale sub-distributor's code."}
        book_id = seller.pk
    try:
        runs = ecl_post(day, origin=EclRun.Origin.MONTHLY, book_id=book_id)
    except (EclError, FxRatesMissing) as exc:
        logger.error("ECL monthly run as of %s refused: %s", day, exc)
        return {"as_of": day.isoformat(), "error": str(exc)}
    return {
        "as_of": day.isoformat(),
        "runs": [
            {
                "currency": r.currency,
                "run": r.pk,
                "change": money_text(r.change, r.currency),
                "journal": r.journal_transaction_id,
            }
            for r in runs
        ],
    }
