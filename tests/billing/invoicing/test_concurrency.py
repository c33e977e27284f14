"""Closes racing in threads on PostgreSQL: gapless, unique invoice numbers and no double billing."""

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from billing.invoicing.close.services import close_period
from billing.invoicing.models import Invoice, NumberSeries
from billing.invoicing.services import LineDraft, invoice_create, invoice_issue
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.terms.models import BillingTerms
from tests.billing.invoicing.conftest import use
from tests.billing.usage.factories import customer_make

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*jobs):
    errors = []
    barrier = threading.Barrier(len(jobs))

    def run(job):
        try:
            barrier.wait()
            job()
        except Exception as exc:  # reported below, with the thread's traceback lost but the message kept
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_racing_closes_number_without_gaps_or_duplicates(source, model):
    monthly = [customer_make(key=f"m{i}", mode=BillingTerms.Mode.MONTHLY) for i in range(8)]
    quarterly = [customer_make(key=f"q{i}", mode=BillingTerms.Mode.QUARTERLY) for i in range(8)]
    for i in range(8):
        use(source, f"m{i}", datetime(2026, 9, 10, tzinfo=UTC))
        use(source, f"q{i}", datetime(2026, 8, 10, tzinfo=UTC))
    issued_on = date(2026, 10, 1)
    review = invoice_create(
        customer=monthly[0], lines=[LineDraft(kind="service", description="x", amount_exact=Decimal("1"))]
    )

    race(
        lambda: close_period("2026-09", issue_date=issued_on, chunk_size=3),
        lambda: close_period("2026-Q3", issue_date=issued_on, chunk_size=3),
        lambda: close_period("2026-09", issue_date=issued_on, chunk_size=2),
        lambda: invoice_issue(invoice=review, issue_date=issued_on),
    )

    numbers = sorted(Invoice.objects.exclude(number=None).values_list("number", flat=True))
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 18)]
    assert NumberSeries.objects.get(key="INV-2026").last_number == 17
    assert Invoice.objects.filter(period="2026-09").count() == 8
    assert Invoice.objects.filter(period="2026-Q3").count() == 8
    for customer in monthly + quarterly:
        assert (
            account_get(kind=AccountKind.UNBILLED_RECEIVABLE, currency="CNY", customer=customer).balance == 0
        )
