"""Statements are history: a later credit note releasing allocations never changes an earlier statement.

The audit's scenario: invoice A of 1,747.57 issued on 1 November (net 30: due 1 December) and invoice B of
853.05 issued on 20 November (due 20 December); on 2 December a bank payment of 1,847.57 pays A, leaving
100 unapplied. The statement for 1 Nov – 3 Dec shows 853.05 current and 100 unapplied. A credit note of
5 December for all of A releases the payment's allocation. Reprinted, the statement used to show 1,747.57
overdue and 1,847.57 unapplied; it must read as it did.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import StaffRole
from billing.ledger.exceptions import AppendOnlyError
from billing.receivables.credit_notes import credit_note_issue
from billing.receivables.models import PaymentAllocation
from billing.receivables.services import customer_credit, payment_record
from billing.statements.build import aging_at, statement_build
from billing.statements.exports import invoices_csv_rows, payments_csv_rows
from tests.billing.factories import staff
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
D = Decimal
NOV_1, NOV_20 = dt.date(2026, 11, 1), dt.date(2026, 11, 20)
DEC_2, DEC_3, DEC_5 = dt.date(2026, 12, 2), dt.date(2026, 12, 3), dt.date(2026, 12, 5)


def audit_scenario(*, auto_apply: bool):
    finance = staff(StaffRole.FINANCE)
    customer = CustomerFactory(name="Audit Co")
    credit_terms(customer, payment_term="net", payment_days=30, auto_apply_credit=auto_apply)
    a = issued_invoice(customer, "1747.57", issue_date=NOV_1)
    b = issued_invoice(customer, "853.05", issue_date=NOV_20)
    payment_record(
        customer=customer,
        amount=D("1847.57"),
        currency="CNY",
        received_on=DEC_2,
        reference="BANK-1202",
        actor=finance,
        idempotency_key="audit-payment",
        allocate=[(a, D("1747.57"))],
    )
    return finance, customer, a, b


def printed(customer, date_from, date_to) -> dict:
    """Everything a statement shows for the receivable, as printed now."""
    statement = statement_build(customer, date_from, date_to, strict=True)
    [section] = statement.receivable_sections
    return {
        "opening": section.opening,
        "rows": [(r.date, r.category, r.reference, r.increase, r.decrease, r.balance) for r in section.rows],
        "closing": section.closing,
        "aging": {bucket.key: bucket.amount for bucket in section.aging},
        "unapplied": section.unapplied,
        "discrepancies": section.discrepancies,
    }


def credit_all_of(invoice, finance):
    return credit_note_issue(
        invoice=invoice,
        reason="Outage in November",
        actor=finance,
        idempotency_key="audit-cn",
        issue_date=DEC_5,
    )


def test_the_statement_for_1_nov_to_3_dec_reads_the_same_after_the_5_dec_credit_note():
    finance, customer, a, _b = audit_scenario(auto_apply=False)
    before = printed(customer, NOV_1, DEC_3)
    aging_before = aging_at(customer, "CNY", DEC_3)
    assert before["aging"] == {
        "current": D("853.05"),
        "d1_30": D("0"),
        "d31_60": D("0"),
        "d61_90": D("0"),
        "d90_plus": D("0"),
    }
    assert (before["unapplied"], before["closing"]) == (D("100.00"), D("753.05"))

    note = credit_all_of(a, finance)

    after = printed(customer, NOV_1, DEC_3)
    assert after == before  # not 1,747.57 overdue and 1,847.57 unapplied
    assert aging_at(customer, "CNY", DEC_3) == aging_before
    # The allocation is still there, released by a row of its own dated on the credit note's day.
    original = PaymentAllocation.objects.get(invoice=a, releases__isnull=True)
    assert original.amount == D("1747.57")
    [release] = original.released_by.all()
    assert release.amount == D("-1747.57") and timezone.localtime(release.allocated_at).date() == DEC_5
    assert note.number in release.reason
    # From 5 December the credit note counts: A is credited, and the whole payment is the customer's credit.
    a.refresh_from_db()
    assert (a.status, a.amount_paid, a.amount_credited) == ("paid", D("0"), D("1747.57"))
    on_the_5th = printed(customer, NOV_1, DEC_5)
    assert on_the_5th["aging"]["current"] == D("853.05") and on_the_5th["closing"] == D("-994.52")
    assert on_the_5th["unapplied"] == D("1847.57") == customer_credit(customer=customer, currency="CNY")


def test_aging_of_a_past_date_never_moves_whatever_is_released_later():
    finance, customer, a, _b = audit_scenario(auto_apply=False)
    days = [NOV_20, dt.date(2026, 12, 1), DEC_2, DEC_3, dt.date(2026, 12, 4)]
    before = {day: aging_at(customer, "CNY", day) for day in days}
    credit_all_of(a, finance)
    assert {day: aging_at(customer, "CNY", day) for day in days} == before
    # On 1 December, before the payment, A was due that day (current); from the 2nd it was paid.
    assert {b.key: b.amount for b in before[dt.date(2026, 12, 1)]}["current"] == D("2600.62")
    assert sum(b.amount for b in before[dt.date(2026, 12, 4)]) == D("853.05")


def test_with_auto_apply_the_released_credit_pays_b_from_today_and_the_past_still_reads_the_same(
    django_capture_on_commit_callbacks,
):
    finance, customer, a, b = audit_scenario(auto_apply=True)
    before = printed(customer, NOV_1, DEC_3)
    assert (before["aging"]["current"], before["unapplied"]) == (D("853.05"), D("100.00"))

    with django_capture_on_commit_callbacks(execute=True):
        credit_all_of(a, finance)

    b.refresh_from_db()
    assert (b.status, b.amount_paid) == ("paid", D("853.05"))
    assert printed(customer, NOV_1, DEC_3) == before
    today = timezone.localdate()
    now = printed(customer, NOV_1, today)
    assert sum(now["aging"].values()) == 0 and now["unapplied"] == D("994.52")


def test_allocations_are_append_only_in_python_and_in_the_database():
    _finance, _customer, a, _b = audit_scenario(auto_apply=False)
    allocation = PaymentAllocation.objects.get(invoice=a)
    with pytest.raises(AppendOnlyError):
        allocation.save()
    with pytest.raises(AppendOnlyError):
        PaymentAllocation.objects.filter(pk=allocation.pk).update(amount=D("1"))
    with pytest.raises(AppendOnlyError):
        PaymentAllocation.objects.filter(pk=allocation.pk).delete()
    for sql in (
        "UPDATE receivables_allocation SET amount = 1 WHERE id = %s",
        "DELETE FROM receivables_allocation WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(sql, [allocation.pk])


def test_the_invoices_and_payments_csv_of_the_period_read_the_same_after_the_credit_note():
    finance, _customer, a, _b = audit_scenario(auto_apply=False)

    def exported() -> tuple[str, str]:
        return "".join(invoices_csv_rows(NOV_1, DEC_3)), "".join(payments_csv_rows(NOV_1, DEC_3))

    invoices_before, payments_before = exported()
    assert f"{a.number},2026-11-01,2026-12-01" in invoices_before
    assert ",paid,CNY,1747.57,0.00,1747.57,1747.57,0.00,0.00" in invoices_before
    assert ",CNY,1847.57,1747.57,100.00," in payments_before

    credit_all_of(a, finance)

    assert exported() == (invoices_before, payments_before)
