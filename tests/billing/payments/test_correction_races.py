"""Corrections approved at the same moment on PostgreSQL: one wins, the other is refused; nothing twice."""

import threading
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.models import StaffRole
from billing.ledger.models import JournalTransaction
from billing.payments.approvals import correction_approve
from billing.payments.models import Correction
from billing.payments.refunds import credit_refund_propose
from billing.payments.reversals import payment_reversal_propose
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.payments.correction_helpers import D, bank_payment, books, books_agree, credit_customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _at_once(calls) -> list[str]:
    """Run each call in its own thread and connection, released together; return how each ended."""
    barrier = threading.Barrier(len(calls))
    outcomes = [""] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            call()
            outcomes[index] = "done"
        except ValidationError as exc:
            outcomes[index] = " ".join(exc.messages)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_approvers_at_once_reverse_a_payment_once(finance, finance2):
    customer = credit_customer()
    issued_invoice(customer, "100.00", issue_date=date(2026, 10, 1))
    payment = bank_payment(customer, "100.00", finance, key="race-transfer")
    admin = staff(StaffRole.ADMIN)
    proposal = payment_reversal_propose(
        proposer=finance,
        payment=payment,
        reason="bounced",
        note="Returned",
        returned_on=date(2026, 11, 25),
        idempotency_key="race-rev",
    )

    outcomes = _at_once(
        [
            lambda: correction_approve(correction=proposal, approver=finance2),
            lambda: correction_approve(correction=proposal, approver=admin),
        ]
    )

    assert sorted(outcomes) == ["This correction is already done.", "done"]
    assert JournalTransaction.objects.filter(kind="receivable.payment.reversal").count() == 1
    assert books(customer)["receivable"] == D("100.00")
    assert books_agree(customer)


def test_two_refunds_of_one_credit_approved_at_once_never_refund_more_than_it(finance, finance2):
    customer = credit_customer()
    payment = bank_payment(customer, "100.00", finance, key="race-credit", allocate=None)
    proposals = [
        credit_refund_propose(
            proposer=finance,
            customer=customer,
            source="receivable",
            method="bank",
            amount=D("70.00"),
            payment=payment,
            note="Leaving",
            idempotency_key=f"race-refund-{n}",
        )
        for n in range(2)
    ]

    outcomes = _at_once([lambda p=p: correction_approve(correction=p, approver=finance2) for p in proposals])

    assert outcomes.count("done") == 1
    assert Correction.objects.filter(status="done").count() == 1
    assert books(customer)["credit"] == D("30.00")
    assert books_agree(customer)
