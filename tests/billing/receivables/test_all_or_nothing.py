"""Finance's bulk actions on invoices are all or nothing: a failure midway leaves no part of them done."""

from datetime import date
from decimal import Decimal

import pytest

from billing.invoicing import services as invoicing_services
from billing.invoicing.models import Invoice
from billing.invoicing.services import LineDraft, invoice_create
from billing.receivables import services as receivables_services
from billing.receivables.models import PaymentAllocation
from billing.receivables.services import payment_record
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.receivables.conftest import JAN
from tests.billing.receivables.helpers import books_agree

pytestmark = pytest.mark.django_db

D = Decimal


def fail_on_second_call(monkeypatch, module, name):
    """Replace ``module.name`` with the real function that raises on its second call (a crash midway)."""
    real, calls = getattr(module, name), []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)


def test_allocating_credit_applies_every_payment_or_none(client, finance, acme, monkeypatch):
    invoice = issued_invoice(acme, "100.00", issue_date=JAN)
    for key, amount in (("p1", "30.00"), ("p2", "40.00")):
        payment_record(
            customer=acme,
            amount=D(amount),
            currency="CNY",
            received_on=date(2026, 2, 1),
            reference=key,
            actor=finance,
            idempotency_key=key,
            allocate=None,
        )
    client.force_login(finance)
    fail_on_second_call(monkeypatch, receivables_services, "invoice_status_settle")

    with pytest.raises(RuntimeError):
        client.post(f"/dashboard/finance/invoices/{invoice.pk}/allocate/")

    invoice.refresh_from_db()
    assert not PaymentAllocation.objects.exists()
    assert (invoice.amount_paid, invoice.status) == (D("0"), Invoice.Status.ISSUED)
    assert books_agree(acme)[0] == books_agree(acme)[1]

    monkeypatch.undo()
    client.post(f"/dashboard/finance/invoices/{invoice.pk}/allocate/")
    invoice.refresh_from_db()
    assert (invoice.amount_paid, PaymentAllocation.objects.count()) == (D("70.00"), 2)


def test_bulk_issue_issues_every_chosen_draft_or_none(client, finance, acme, monkeypatch):
    drafts = [
        invoice_create(
            customer=acme, lines=[LineDraft(kind="service", description=f"d{n}", amount_exact=D("5"))]
        )
        for n in range(3)
    ]
    client.force_login(finance)
    fail_on_second_call(monkeypatch, invoicing_services, "number_next")

    with pytest.raises(RuntimeError):
        client.post("/dashboard/finance/invoices/bulk/", {"action": "issue", "ids": [d.pk for d in drafts]})

    assert [Invoice.objects.get(pk=d.pk).status for d in drafts] == ["draft"] * 3
    assert not Invoice.objects.filter(number__isnull=False).exists()


def test_bulk_issue_still_skips_a_refused_draft_and_issues_the_others(client, finance, acme):
    good = invoice_create(
        customer=acme, lines=[LineDraft(kind="service", description="ok", amount_exact=D("5"))]
    )
    negative = invoice_create(
        customer=acme, lines=[LineDraft(kind="service", description="refund", amount_exact=D("-5"))]
    )
    client.force_login(finance)

    response = client.post(
        "/dashboard/finance/invoices/bulk/", {"action": "issue", "ids": [good.pk, negative.pk]}
    )

    assert response.status_code == 302
    assert [Invoice.objects.get(pk=i.pk).status for i in (good, negative)] == ["issued", "draft"]
