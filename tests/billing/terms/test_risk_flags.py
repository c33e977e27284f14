# ruff: noqa: F811 (pytest fixtures imported by name)
"""The risk-flag rules (``billing.dunning.risk``): history needed for a spike, the trailing average, credit
held against overdue invoices, one open flag per kind, the periodic task and the check after usage."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.dunning import risk_tasks
from billing.dunning.risk import risk_flags_check, spike_history_days
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.terms.models import BillingTerms, RiskFlag
from billing.usage.services import usage_batch_ingest
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.usage.conftest import model, source  # noqa: F401
from tests.billing.usage.factories import customer_make, event

pytestmark = pytest.mark.django_db


def at_noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def spiky(source, *, history_days, per_day=1, today_events=10, factor="3", key="key-s"):
    customer = customer_make(key=key, mode="monthly", spike_factor=Decimal(factor))
    today = timezone.localdate()
    records = [
        event(f"{key}-h{n}-{i}", key=key, at=at_noon(today - dt.timedelta(days=n)))
        for n in range(1, history_days + 1)
        for i in range(per_day)
    ]
    records += [event(f"{key}-t{i}", key=key, at=timezone.now()) for i in range(today_events)]
    usage_batch_ingest(source=source, records=records)
    return customer


def test_history_days_count_the_window_the_customer_has_lived():
    day = dt.date(2026, 6, 20)
    assert spike_history_days(first=None, day=day) == 0
    assert spike_history_days(first=dt.date(2026, 6, 14), day=day) == 6
    assert spike_history_days(first=dt.date(2026, 6, 13), day=day) == 7
    assert spike_history_days(first=dt.date(2025, 1, 1), day=day) == 14


def test_less_than_seven_days_of_history_raises_no_spike(source, model):
    customer = spiky(source, history_days=6)

    assert risk_flags_check(customer_ids=[customer.pk]) == []


def test_seven_days_of_history_average_over_those_days(source, model):
    # 7 days × 0.006: average 0.006 over 7 days (not 14), so 10 events today (0.06) > 3 × 0.006
    customer = spiky(source, history_days=7)

    assert risk_flags_check(customer_ids=[customer.pk]) == [(customer.pk, "usage_spike", "raised")]
    flag = RiskFlag.objects.get(customer=customer)
    assert (flag.measured, flag.threshold, flag.detail) == (
        Decimal("0.06"),
        Decimal("0.018"),
        timezone.localdate().isoformat(),
    )


def test_usage_under_the_factor_raises_nothing(source, model):
    customer = spiky(source, history_days=14, per_day=2, today_events=6)  # 6 = 3 × 2: not above

    assert risk_flags_check(customer_ids=[customer.pk]) == []


def test_a_spike_yesterday_still_flags_today(source, model):
    customer = customer_make(key="key-y", mode="monthly", spike_factor=Decimal("2"))
    today = timezone.localdate()
    records = [event(f"y{n}", key="key-y", at=at_noon(today - dt.timedelta(days=n))) for n in range(2, 16)]
    records += [event(f"yy{i}", key="key-y", at=at_noon(today - dt.timedelta(days=1))) for i in range(5)]
    usage_batch_ingest(source=source, records=records)

    assert risk_flags_check(customer_ids=[customer.pk]) == [(customer.pk, "usage_spike", "raised")]
    assert RiskFlag.objects.get().detail == (today - dt.timedelta(days=1)).isoformat()


def test_a_dormant_customer_has_no_yardstick(source, model):
    customer = customer_make(key="key-z", mode="monthly", spike_factor=Decimal("2"))
    long_ago = timezone.localdate() - dt.timedelta(days=40)
    usage_batch_ingest(
        source=source,
        records=[
            event("old", key="key-z", at=at_noon(long_ago)),
            event("now", key="key-z", at=timezone.now()),
        ],
    )

    assert risk_flags_check(customer_ids=[customer.pk]) == []


def test_a_customer_no_longer_watched_loses_its_open_flags_at_the_next_check(source, model):
    customer = spiky(source, history_days=14)
    risk_flags_check(customer_ids=[customer.pk])
    BillingTerms.objects.filter(customer=customer).update(spike_factor=None)  # as if set in the shell

    assert risk_flags_check() == [(customer.pk, "usage_spike", "cleared")]
    assert not RiskFlag.objects.filter(ended_at__isnull=True).exists()


def owing_customer(days=30):
    customer = customer_make(key="key-o", mode="monthly", overdue_flag_days=days)
    today = timezone.localdate()
    invoice = issued_invoice(customer, "200.00", issue_date=today - dt.timedelta(days=90))
    invoice.due_date = today - dt.timedelta(days=60)
    invoice.save(update_fields=["due_date"])
    return customer, invoice


def test_credit_on_account_covering_the_late_invoice_raises_nothing():
    customer, _invoice = owing_customer()
    transaction_post(
        idempotency_key="unallocated",
        kind="payment.bank",
        lines=[
            debit(account_get(kind=AccountKind.CASH_BANK, currency="CNY"), Decimal("200"), "CNY"),
            credit(
                account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=customer),
                Decimal("200"),
                "CNY",
            ),
        ],
    )

    assert risk_flags_check(customer_ids=[customer.pk]) == []


def test_the_oldest_late_invoice_is_named():
    customer, invoice = owing_customer()
    today = timezone.localdate()
    newer = issued_invoice(customer, "50.00", issue_date=today - dt.timedelta(days=60))
    newer.due_date = today - dt.timedelta(days=31)
    newer.save(update_fields=["due_date"])

    risk_flags_check(customer_ids=[customer.pk])

    flag = RiskFlag.objects.get()
    assert (flag.kind, flag.detail, flag.measured, flag.threshold) == ("overdue_days", invoice.number, 60, 30)


def test_one_open_flag_per_customer_and_kind_is_a_database_rule():
    customer, _invoice = owing_customer()
    RiskFlag.objects.create(customer=customer, kind="overdue_days", policy="warn")
    with pytest.raises(IntegrityError), transaction.atomic():
        RiskFlag.objects.create(customer=customer, kind="overdue_days", policy="warn")
    RiskFlag.objects.create(customer=customer, kind="usage_spike", policy="warn")  # another kind may


def test_the_periodic_task_checks_everyone_and_is_safe_to_repeat():
    customer, _invoice = owing_customer()

    assert risk_tasks.risk_flags_task() == 1
    assert risk_tasks.risk_flags_task() == 0
    assert RiskFlag.objects.get().customer == customer


def test_the_check_after_usage_runs_once_a_minute_per_customer(source, model, eager_celery):
    customer = customer_make(key="key-u", mode="monthly", spike_factor=Decimal("3"))
    other = customer_make(key="key-v", mode="monthly")
    with mock.patch.object(risk_tasks.risk_spike_check_task, "delay") as queued:
        risk_tasks.risk_after_usage(sender=None, customer_ids={customer.pk, other.pk})
        risk_tasks.risk_after_usage(sender=None, customer_ids={customer.pk})
    queued.assert_called_once_with([customer.pk])
