"""What starts a progressive-billing check: usage accruing (on commit, a task on the billing queue), the
periodic safety net, and two checks racing."""

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection

from billing.invoicing.close.services import close_period
from billing.invoicing.models import Invoice
from billing.invoicing.progressive import progressive_check
from billing.invoicing.receivers import progressive_receivers_connect, unbilled_accrued_receiver
from billing.invoicing.tasks import PROGRESSIVE_PENDING, progressive_billing_task, progressive_check_task
from billing.terms.models import BillingTerms
from billing.terms.signals import unbilled_accrued
from tests.billing.invoicing.conftest import use
from tests.billing.usage.factories import customer_make

NOV_5 = datetime(2026, 11, 5, 2, tzinfo=UTC)
NOW = datetime(2026, 11, 5, 3, 30, tzinfo=UTC)
SIZE_300 = {"prompt": 50_000_000, "completion": 25_000_000}  # 100.00 + 200.00


@pytest.fixture
def wired():
    """The receiver as ``billing.apps`` connects it (the same dispatch_uid: connecting twice is once)."""
    progressive_receivers_connect()


def progressive_customer(key="key-p", **terms):
    fields = {"mode": BillingTerms.Mode.MONTHLY, "progressive_threshold": Decimal("500"), **terms}
    return customer_make(key=key, **fields)


@pytest.mark.django_db
def test_usage_crossing_the_threshold_issues_the_interim_invoice_on_commit(
    source, model, wired, eager_celery, django_capture_on_commit_callbacks
):
    customer = progressive_customer()
    close_period("2026-10", issue_date=date(2026, 11, 1))
    with mock.patch("billing.invoicing.progressive.timezone.now", return_value=NOW):
        with django_capture_on_commit_callbacks(execute=True):
            use(source, "key-p", NOV_5, **SIZE_300)
        assert not Invoice.objects.exists()  # 300 < 500

        with django_capture_on_commit_callbacks(execute=True):
            use(source, "key-p", NOV_5, **SIZE_300)

    [interim] = Invoice.objects.all()
    assert (interim.kind, interim.total, interim.issue_date) == (
        Invoice.Kind.INTERIM,
        Decimal("600.00"),
        date(2026, 11, 5),
    )
    assert not cache.get(PROGRESSIVE_PENDING.format(customer.pk))  # the check ran: nothing pending


@pytest.mark.django_db
def test_only_progressively_billed_customers_are_signalled(source, model, django_capture_on_commit_callbacks):
    plain = customer_make(key="key-plain", mode=BillingTerms.Mode.MONTHLY, credit_limit=Decimal("1"))
    share = customer_make(
        key="key-share",
        mode=BillingTerms.Mode.MONTHLY,
        credit_limit=Decimal("1000"),
        progressive_limit_share=Decimal("0.8"),
    )
    sent = []
    receiver = lambda sender, customer_ids, **kw: sent.append(customer_ids)  # noqa: E731
    unbilled_accrued.connect(receiver, dispatch_uid="test-progressive-signal")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            use(source, "key-plain", NOV_5)
            use(source, "key-share", NOV_5)
    finally:
        unbilled_accrued.disconnect(dispatch_uid="test-progressive-signal")

    assert sent == [[share.pk]]
    assert plain.pk not in sent[0]


def test_a_check_already_queued_is_not_queued_again():
    with mock.patch("billing.invoicing.receivers.progressive_check_task.delay") as delay:
        unbilled_accrued_receiver(sender=BillingTerms, customer_ids=[7, 8])
        unbilled_accrued_receiver(sender=BillingTerms, customer_ids=[8, 9])

    assert [c.args for c in delay.call_args_list] == [([7, 8],), ([9],)]
    with mock.patch("billing.invoicing.tasks.progressive_check", return_value=[]):
        progressive_check_task([7, 8])  # started: postings from now on queue a check of their own
    assert cache.get(PROGRESSIVE_PENDING.format(7)) is None
    assert cache.get(PROGRESSIVE_PENDING.format(9)) == 1


def test_a_check_that_cannot_be_queued_fails_nothing_and_leaves_nothing_pending(caplog):
    with mock.patch("billing.invoicing.receivers.progressive_check_task.delay", side_effect=OSError("down")):
        unbilled_accrued_receiver(sender=BillingTerms, customer_ids=[7])

    assert cache.get(PROGRESSIVE_PENDING.format(7)) is None  # the next posting queues it again
    assert "progressive-billing check of customers [7] failed" in caplog.text


@pytest.mark.django_db
def test_the_safety_net_checks_every_progressively_billed_customer(source, model):
    billed = progressive_customer()
    other = customer_make(key="key-o", mode=BillingTerms.Mode.MONTHLY)
    close_period("2026-10", issue_date=date(2026, 11, 1))
    use(source, "key-p", NOV_5, **SIZE_300)
    use(source, "key-p", NOV_5, **SIZE_300)
    use(source, "key-o", NOV_5, **SIZE_300)

    with mock.patch("billing.invoicing.progressive.timezone.now", return_value=NOW):
        assert progressive_billing_task() == 1
        assert progressive_billing_task() == 0

    assert list(Invoice.objects.values_list("customer_id", "total")) == [(billed.pk, Decimal("600.00"))]
    assert not other.invoices.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_checks_racing_make_one_invoice(source, model):
    customer = progressive_customer()
    close_period("2026-10", issue_date=date(2026, 11, 1))
    use(source, "key-p", NOV_5, **SIZE_300)
    use(source, "key-p", NOV_5, **SIZE_300)
    errors, made = [], []
    barrier = threading.Barrier(2)

    def check(at):
        try:
            barrier.wait()
            made.extend(progressive_check([customer.pk], at=at))
        except Exception as exc:  # kept for the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=check, args=(datetime(2026, 11, 5, 3, 30, s, tzinfo=UTC),)) for s in (1, 2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == [] and len(made) == 1
    assert Invoice.objects.get().total == Decimal("600.00")
