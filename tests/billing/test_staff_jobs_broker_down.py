"""Redis down: a job staff start from a page answers at once, says so on the page, and leaves nothing
pretending to be queued — never a 500. Reconciliation and period closes are refused (finance start them
again); a statement export is recorded as failed with why; a re-rate is kept in the outbox and says so."""

import time

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.invoicing.models import PeriodClose
from billing.statements.models import StatementExport
from billing.statements.services import NOT_QUEUED
from billing.upstream.models import ReconciliationRun
from common.models import OutboxTask
from tests.billing.factories import staff
from tests.common.redis_down import broker_down  # noqa: F401

NOT_STARTED = "The task queue is unreachable, so the %s was not started. Try again in a few minutes."


def _finance(client):
    client.force_login(staff(StaffRole.FINANCE))
    return client


@pytest.mark.django_db
def test_reconciliation_run_now_says_it_was_not_started(client, broker_down):  # noqa: F811
    started = time.monotonic()
    response = _finance(client).post(
        reverse("upstream-recon-run-now"), {"date_from": "2026-06-01", "date_to": "2026-06-07"}, follow=True
    )

    assert time.monotonic() - started < 5
    assert response.status_code == 200
    assert NOT_STARTED % "reconciliation" in response.content.decode()
    assert "started; the run appears here" not in response.content.decode()
    assert not ReconciliationRun.objects.exists()


@pytest.mark.django_db
def test_period_close_says_it_was_not_started(client, broker_down):  # noqa: F811
    response = _finance(client).post(reverse("staff-period-closes"), {"period": "2026-10"})

    assert response.status_code == 400
    assert NOT_STARTED % "close" in response.content.decode()
    assert not PeriodClose.objects.exists()


# The view answers after its transaction commits, as in production (no request-wide transaction): these
# need real commits for the after-commit queueing to run before the page is answered.
@pytest.mark.django_db(transaction=True)
def test_statement_export_is_recorded_failed_and_the_page_says_so(client, broker_down):  # noqa: F811
    response = _finance(client).post(
        reverse("staff-statement-export-start"), {"period": "month", "month": "2026-10"}, follow=True
    )

    assert response.status_code == 200
    assert NOT_STARTED % "export" in response.content.decode()
    export = StatementExport.objects.get()
    assert (export.state, export.error) == (StatementExport.State.FAILED, NOT_QUEUED)
    assert export.finished_at is not None
    assert NOT_QUEUED in response.content.decode()  # the export's row says why


@pytest.mark.django_db(transaction=True)
def test_rerate_is_kept_for_the_queue_and_the_page_says_so(client, broker_down):  # noqa: F811
    client.force_login(staff(StaffRole.ADMIN))

    response = client.post(
        reverse("staff-usage-rerate"), {"scope": "selected", "event": ["41", "42"]}, follow=True
    )

    assert response.status_code == 200
    assert "2 events to re-rate, but the task queue is unreachable" in response.content.decode()
    kept = OutboxTask.objects.get()
    assert (kept.task, kept.kwargs, kept.sent_at) == (
        "billing.usage.tasks.usage_rerate_task",
        {"event_ids": [41, 42]},
        None,
    )
