"""Credit is paid back only beyond what the customer owes on its open invoices (its net credit).

The reviewer's case: auto-apply off, a 100.00 payment kept as credit and a 100.00 invoice open; refunding
the 100.00 would leave the invoice due with nothing to pay it. Refused on proposal and on approval, saying
why; credit beyond what is owed is refunded as before.
"""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.payments.approvals import correction_approve
from billing.payments.refunds import credit_refund_propose
from billing.terms.models import BillingTerms
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.payments.correction_helpers import D, bank_payment, books, books_agree, credit_customer

pytestmark = pytest.mark.django_db

WHY = (
    "The customer's unapplied credit of {credit} CNY is owed on its open invoices ({due} CNY due): "
    "only credit beyond what it owes can be paid back."
)


@pytest.fixture
def customer():
    customer = credit_customer()
    BillingTerms.objects.filter(customer=customer).update(auto_apply_credit=False)
    return customer


def _propose(finance, customer, payment, amount: str, key: str = "r1"):
    return credit_refund_propose(
        proposer=finance,
        customer=customer,
        source="receivable",
        method="bank",
        amount=D(amount),
        note="Customer asked for its credit back",
        idempotency_key=key,
        payment=payment,
    )


def test_credit_owed_on_an_open_invoice_is_not_refunded(customer, finance):
    payment = bank_payment(customer, "100.00", finance, key="p1", allocate=None)
    issued_invoice(customer, "100.00", issue_date=date(2026, 11, 3))

    with pytest.raises(ValidationError) as exc:
        _propose(finance, customer, payment, "100.00")

    assert exc.value.message_dict["amount"] == [
        "At most 0.00 CNY can be refunded. " + WHY.format(credit="100.00", due="100.00")
    ]
    assert books(customer)["credit"] == D("100.00")


def test_only_the_credit_beyond_what_is_owed_is_refunded(customer, finance, finance2):
    payment = bank_payment(customer, "160.00", finance, key="p1", allocate=None)
    invoice = issued_invoice(customer, "100.00", issue_date=date(2026, 11, 3))
    with pytest.raises(ValidationError, match=r"At most 60\.00 CNY can be refunded\. The customer's"):
        _propose(finance, customer, payment, "60.01")

    correction_approve(correction=_propose(finance, customer, payment, "60.00"), approver=finance2)

    invoice.refresh_from_db()
    assert invoice.amount_due == D("100.00")
    assert books(customer)["credit"] == D("100.00")  # still there to pay it
    assert books_agree(customer)


def test_an_invoice_issued_after_the_proposal_is_counted_on_approval(customer, finance, finance2):
    payment = bank_payment(customer, "100.00", finance, key="p1", allocate=None)
    proposal = _propose(finance, customer, payment, "100.00")
    issued_invoice(customer, "70.00", issue_date=date(2026, 11, 3))

    with pytest.raises(ValidationError) as exc:
        correction_approve(correction=proposal, approver=finance2)

    assert exc.value.messages == [
        "Only 30.00 CNY is refundable now; reject this refund and propose it again. "
        + WHY.format(credit="100.00", due="70.00")
    ]
    assert books(customer)["credit"] == D("100.00")


def test_the_refund_form_shows_what_the_customer_owes(client, customer, finance):
    bank_payment(customer, "160.00", finance, key="p1", allocate=None)
    issued_invoice(customer, "100.00", issue_date=date(2026, 11, 3))
    client.force_login(finance)

    page = client.get(reverse("staff-credit-refund-create", args=[customer.pk])).content.decode()

    assert 'data-testid="receivable-credit">160.00 CNY' in page
    assert 'data-testid="open-invoices-due">100.00 CNY' in page
