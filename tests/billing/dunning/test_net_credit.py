"""Dunning counts only what is really due: credit a customer holds is applied, or at least counted.

The audit: a customer holding 900 of credit against a 200 invoice (receivable −700) was suspended for
"overdue". With auto-apply (the default) the credit pays the invoice when it is issued; with auto-apply
off the invoice stays open but nothing is really due, so no reminder and no suspension.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing.dunning.models import DunningNotice
from billing.dunning.selectors import invoices_really_due
from billing.dunning.services import dunning_run
from billing.invoicing.models import Invoice
from billing.receivables.services import customer_credit, payment_record
from tests.billing.dunning.helpers import DUE, dunned_customer
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.receivables.helpers import receivable

pytestmark = pytest.mark.django_db
D = Decimal


def status(client, key="key-d") -> dict:
    return client.get("/api/v1/gateway/status", {"key": key}).json()


def credit_of(customer, amount: str, key: str = "credit-900"):
    """Money the customer paid that finance kept as credit (no open invoice to pay at the time)."""
    return payment_record(
        customer=customer,
        amount=D(amount),
        currency="CNY",
        received_on=date(2026, 10, 20),
        reference=key,
        actor=None,
        idempotency_key=key,
        allocate=None,
    )


def invoice_of_200(customer) -> Invoice:
    invoice = issued_invoice(customer, "200.00", issue_date=date(2026, 10, 31))
    Invoice.objects.filter(pk=invoice.pk).update(due_date=DUE)
    invoice.refresh_from_db()
    return invoice


def test_900_of_credit_pays_the_200_invoice_when_it_is_issued_and_nothing_is_dunned(
    gateway, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    client, received = gateway
    customer = dunned_customer()
    credit_of(customer, "900.00")

    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_of_200(customer)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("paid", D("200.00"), D("0.00"))
    assert customer_credit(customer=customer, currency="CNY") == D("700.00")
    assert receivable(customer) == D("-700.00")
    for offset in (-3, 7, 15, 30, 45):
        with django_capture_on_commit_callbacks(execute=True):
            result = dunning_run(today=DUE + timedelta(days=offset))
        assert (result.sent, result.suspended) == (0, 0)
    assert not DunningNotice.objects.exists() and mailoutbox == []
    assert status(client)["status"] == "active" and received == []


def test_with_auto_apply_off_the_invoice_stays_open_but_the_customer_is_not_overdue(
    gateway, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    client, received = gateway
    customer = dunned_customer(auto_apply_credit=False)
    credit_of(customer, "900.00")

    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_of_200(customer)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("issued", D("200.00"))  # not applied
    assert receivable(customer) == D("-700.00")
    assert invoices_really_due(customer_id=customer.pk, currency="CNY") == {invoice.pk: D("0")}
    with django_capture_on_commit_callbacks(execute=True):
        result = dunning_run(today=DUE + timedelta(days=30))
    assert (result.sent, result.skipped, result.suspended) == (0, 0, 0)
    assert not DunningNotice.objects.exists() and mailoutbox == []
    assert status(client)["status"] == "active" and received == []


def test_credit_short_of_the_invoices_leaves_the_newest_due_and_dunned(mailoutbox):
    customer = dunned_customer(auto_apply_credit=False)
    credit_of(customer, "150.00")
    older = invoice_of_200(customer)
    newer = issued_invoice(customer, "80.00", issue_date=date(2026, 11, 1))
    Invoice.objects.filter(pk=newer.pk).update(due_date=DUE + timedelta(days=1))

    # 150 covers the oldest due first: 50 of it stays due, and all of the newer one.
    assert invoices_really_due(customer_id=customer.pk, currency="CNY") == {
        older.pk: D("50.00"),
        newer.pk: D("80.00"),
    }
    dunning_run(today=DUE + timedelta(days=7))
    sent = DunningNotice.objects.filter(skipped=False).values_list("invoice_id", "level__days_from_due")
    assert sorted(sent) == sorted([(older.pk, 7), (newer.pk, -3)])


def test_credit_kept_aside_lifts_a_suspension_it_covers(
    gateway, eager_celery, mailoutbox, django_capture_on_commit_callbacks
):
    client, received = gateway
    customer = dunned_customer(auto_apply_credit=False)
    invoice = invoice_of_200(customer)
    with django_capture_on_commit_callbacks(execute=True):
        dunning_run(today=DUE + timedelta(days=30))
    assert status(client)["status"] == "suspended"

    with django_capture_on_commit_callbacks(execute=True):
        credit_of(customer, "900.00", key="late-credit")

    invoice.refresh_from_db()
    assert invoice.status == "issued"  # kept as credit, as finance chose
    assert status(client)["status"] == "active"
    assert [h["json"]["type"] for h in received] == ["customer.suspended", "customer.restored"]
    assert DunningNotice.objects.get(suspended=True).lifted_at is not None
