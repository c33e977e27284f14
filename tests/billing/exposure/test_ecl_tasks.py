"""The monthly job: on the 1st, as of the end of the month before, origin monthly; safe to run again."""

import datetime as dt

import pytest
from django.utils import timezone

from billing.exposure.ecl_tasks import ecl_monthly_task, previous_month_end
from billing.exposure.models import EclRun
from tests.billing.exposure.ecl_helpers import D, allowance_balance, golden_receivables

pytestmark = pytest.mark.django_db


def test_previous_month_end():
    assert previous_month_end(dt.date(2026, 3, 1)) == dt.date(2026, 2, 28)
    assert previous_month_end(dt.date(2026, 1, 15)) == dt.date(2025, 12, 31)


def test_the_month_end_is_booked_once_with_the_configured_matrix():
    month_end = previous_month_end(timezone.localdate())
    golden_receivables(month_end)

    first = ecl_monthly_task.delay().get()
    again = ecl_monthly_task.delay().get()

    run = EclRun.objects.get()
    assert (run.as_of, run.origin, run.matrix["method"]) == (month_end, "monthly", "entered")
    # The default matrix 1 / 5 / 15 / 30 / 60 on 150 / 200 / 80 / 200 / 50.
    assert run.total == D("113.50")
    assert (
        first
        == again
        == {
            "as_of": month_end.isoformat(),
            "runs": [
                {
                    "currency": "CNY",
                    "run": run.pk,
                    "change": "113.50",
                    "journal": run.journal_transaction_id,
                }
            ],
        }
    )
    assert allowance_balance() == D("113.50")


def test_a_run_that_cannot_be_made_is_answered_not_raised():
    from billing.exposure.models import EclMatrix

    EclMatrix.objects.filter(pk=EclMatrix.load().pk).update(method=EclMatrix.Method.DERIVED)

    answer = ecl_monthly_task.delay().get()

    assert "No history to derive loss rates from" in answer["error"]
    assert not EclRun.objects.exists()


def test_an_unknown_book_is_answered():
    answer = ecl_monthly_task.delay(book="nobody").get()
    assert "not a resale sub-distributor" in answer["error"]
