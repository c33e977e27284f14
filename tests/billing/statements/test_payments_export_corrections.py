"""The payments CSV shows what of each payment was refunded or reversed by the export's end date (by the
corrections' effective dates), and what was unapplied net of it: a reversed payment is not credit."""

import csv
import io
from datetime import date

import pytest

from accounts.models import StaffRole
from billing.payments.approvals import correction_approve
from billing.payments.refunds import credit_refund_propose
from billing.payments.reversals import payment_reversal_propose
from billing.statements.exports import payments_csv_rows
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.payments.correction_helpers import D, bank_payment, credit_customer

pytestmark = pytest.mark.django_db
NOV_1, NOV_4, NOV_30 = date(2026, 11, 1), date(2026, 11, 4), date(2026, 11, 30)


@pytest.fixture
def finance():
    return staff(StaffRole.FINANCE)


@pytest.fixture
def finance2():
    return staff(StaffRole.FINANCE)


def _rows(date_from, date_to) -> dict[str, dict]:
    rows = csv.DictReader(io.StringIO("".join(payments_csv_rows(date_from, date_to))))
    return {row["reference"]: row for row in rows}


def _money(row) -> tuple[str, str, str, str]:
    return row["amount"], row["allocated"], row["unallocated"], row["refunded"]


def test_a_payment_reversed_on_5_november(finance, finance2):
    customer = credit_customer()
    issued_invoice(customer, "100.00", issue_date=date(2026, 10, 1))
    payment = bank_payment(customer, "100.00", finance, key="p1", received_on=date(2026, 11, 2))
    proposal = payment_reversal_propose(
        proposer=finance,
        reason="bounced",
        note="The bank returned it",
        returned_on=date(2026, 11, 5),
        idempotency_key="rev1",
        payment=payment,
    )
    correction_approve(correction=proposal, approver=finance2)

    assert _money(_rows(NOV_1, NOV_30)["BANK-p1"]) == ("100.00", "0.00", "0.00", "100.00")
    assert ",CNY,100.00,0.00,0.00,100.00," in "".join(payments_csv_rows(NOV_1, NOV_30))
    # Exported for the days before the reversal, it reads as it did then.
    assert _money(_rows(NOV_1, NOV_4)["BANK-p1"]) == ("100.00", "100.00", "0.00", "0.00")


def test_refunded_credit_is_not_unapplied_from_the_day_it_left(finance, finance2):
    customer = credit_customer()
    issued_invoice(customer, "100.00", issue_date=date(2026, 10, 1))
    payment = bank_payment(customer, "160.00", finance, key="p2", received_on=date(2026, 11, 2))
    proposal = credit_refund_propose(
        proposer=finance,
        customer=customer,
        source="receivable",
        method="bank",
        amount=D("60.00"),
        note="Paid back the overpayment",
        idempotency_key="refund-60",
        payment=payment,
    )
    refund = correction_approve(correction=proposal, approver=finance2)

    before = _rows(NOV_1, NOV_30)["BANK-p2"]
    assert refund.effective_date > NOV_30
    assert _money(before) == ("160.00", "100.00", "60.00", "0.00")
    after = _rows(NOV_1, refund.effective_date)["BANK-p2"]
    assert _money(after) == ("160.00", "100.00", "0.00", "60.00")
