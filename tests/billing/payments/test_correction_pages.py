"""The Corrections pages: who may see, propose and decide; proposing from the payment and customer pages;
four eyes on the page as in the service; both languages."""

from datetime import date

import pytest

from billing.invoicing.models import Invoice
from billing.payments.bank_transfers import bank_transfer_approve, bank_transfer_record
from billing.payments.models import Correction
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.payments.correction_helpers import D, bank_payment, books, credit_customer

pytestmark = pytest.mark.django_db

LIST = "/dashboard/payments/corrections/"


@pytest.fixture
def paid(finance):
    customer = credit_customer()
    invoice = issued_invoice(customer, "100.00", issue_date=date(2026, 10, 1))
    payment = bank_payment(customer, "130.00", finance, key="page-transfer")
    return customer, invoice, payment


def _propose_reversal(client, payment, key="rev-form-1"):
    return client.post(
        f"/dashboard/payments/corrections/reverse-payment/{payment.pk}/",
        {
            "reason": "bounced",
            "returned_on": "2026-11-25",
            "note": "Returned: account closed",
            "idempotency_key": key,
        },
    )


def test_a_reversal_proposed_and_approved_through_the_pages(client, paid, finance, finance2):
    customer, invoice, payment = paid
    client.force_login(finance)
    assert (
        b'data-testid="reverse-payment"' in client.get(f"/dashboard/finance/payments/{payment.pk}/").content
    )

    response = _propose_reversal(client, payment)
    correction = Correction.objects.get()
    assert response.status_code == 302
    assert response.url == f"{LIST}{correction.pk}/"
    assert _propose_reversal(client, payment).url == response.url  # a double submit finds the first
    own = client.get(response.url).content.decode()
    assert 'data-testid="awaiting"' in own
    assert 'data-testid="approve"' not in own
    assert client.post(f"{LIST}{correction.pk}/decide/", {"decision": "approve"}).status_code == 403

    client.force_login(finance2)
    assert 'data-testid="approve"' in client.get(response.url).content.decode()
    client.post(f"{LIST}{correction.pk}/decide/", {"decision": "approve"})

    correction.refresh_from_db()
    invoice.refresh_from_db()
    assert (correction.status, correction.decided_by) == (Correction.Status.DONE, finance2)
    assert (invoice.status, invoice.amount_due) == (Invoice.Status.ISSUED, D("100.00"))
    assert books(customer)["cash"] == D("0")
    page = client.get(f"/dashboard/finance/payments/{payment.pk}/").content.decode()
    assert 'data-testid="reverse-payment"' not in page
    assert 'data-testid="payment-refunded"' in page


def test_a_second_reversal_is_refused_on_the_form(client, paid, finance):
    _customer, _invoice, payment = paid
    client.force_login(finance)
    _propose_reversal(client, payment)

    response = _propose_reversal(client, payment, key="rev-form-2")

    assert response.status_code == 400
    assert "already awaits approval" in response.content.decode()
    assert Correction.objects.count() == 1


def test_a_refund_over_the_credit_is_refused_on_the_form(client, paid, finance):
    customer, _invoice, payment = paid
    client.force_login(finance)
    url = f"/dashboard/payments/corrections/refund-credit/{customer.pk}/"
    page = client.get(f"{url}?payment={payment.pk}").content.decode()
    assert 'data-testid="receivable-credit">30.00 CNY' in page

    response = client.post(
        url,
        {
            "source": "receivable",
            "method": "bank",
            "amount": "30.01",
            "payment": payment.pk,
            "note": "Leaving",
            "idempotency_key": "refund-form-1",
        },
    )

    assert response.status_code == 400
    assert "At most 30.00 CNY can be refunded." in response.content.decode()
    assert not Correction.objects.exists()


def test_who_may_see_propose_and_decide(client, paid, finance, finance2, sales, auditor):
    customer, _invoice, payment = paid
    client.force_login(finance)
    _propose_reversal(client, payment)
    correction = Correction.objects.get()
    refund_url = f"/dashboard/payments/corrections/refund-credit/{customer.pk}/"

    client.force_login(sales)
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}{correction.pk}/").status_code == 403
    assert client.get(refund_url).status_code == 403
    assert client.post(f"{LIST}{correction.pk}/decide/", {"decision": "approve"}).status_code == 403

    client.force_login(auditor)  # reads everything, changes nothing, is offered nothing
    assert client.get(LIST).status_code == 200
    detail = client.get(f"{LIST}{correction.pk}/")
    assert detail.status_code == 200
    assert 'data-testid="approve"' not in detail.content.decode()
    assert client.get(refund_url).status_code == 403
    assert client.post(f"{LIST}{correction.pk}/decide/", {"decision": "approve"}).status_code == 403
    assert _propose_reversal(client, payment, key="auditor").status_code == 403

    correction.refresh_from_db()
    assert correction.status == Correction.Status.PENDING


def test_the_list_filters_sorts_and_speaks_chinese(client, paid, finance, finance2):
    customer, _invoice, payment = paid
    client.force_login(finance)
    _propose_reversal(client, payment)
    client.post(
        f"/dashboard/payments/corrections/refund-credit/{customer.pk}/",
        {
            "source": "receivable",
            "method": "bank",
            "amount": "10.00",
            "payment": payment.pk,
            "note": "Part of the overpayment back",
            "idempotency_key": "refund-form-2",
        },
    )

    everything = client.get(LIST)
    pending_refunds = client.get(f"{LIST}?status=pending&kind=credit_refund&o=-amount")
    chinese = client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert everything.context["pending"] == 2
    assert len(everything.context["page_obj"]) == 2
    assert [c.kind for c in pending_refunds.context["page_obj"]] == ["credit_refund"]
    assert "更正" in chinese
    assert "待审批" in chinese


def test_a_credited_transfer_offers_its_reversal(client, finance, finance2, auditor):
    customer = credit_customer("Prepaid Co")
    transfer = bank_transfer_record(
        recorder=finance,
        customer=customer,
        currency="CNY",
        amount=D("50.00"),
        reference="TT-PAGE-1",
        value_date=date(2026, 11, 20),
    )
    url = f"/dashboard/payments/bank-transfers/{transfer.pk}/"
    client.force_login(finance2)
    assert 'data-testid="reverse-transfer"' not in client.get(url).content.decode()  # not credited yet
    bank_transfer_approve(transfer=transfer, approver=finance2)
    assert 'data-testid="reverse-transfer"' in client.get(url).content.decode()

    response = client.post(
        f"/dashboard/payments/corrections/reverse-transfer/{transfer.pk}/",
        {
            "reason": "misposted",
            "returned_on": "2026-11-21",
            "note": "Wrong customer",
            "idempotency_key": "tt-page",
        },
    )

    correction = Correction.objects.get()
    assert response.url == f"{LIST}{correction.pk}/"
    assert correction.bank_transfer == transfer
    client.force_login(auditor)
    assert 'data-testid="reverse-transfer"' not in client.get(url).content.decode()
