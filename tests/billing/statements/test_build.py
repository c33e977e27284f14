"""Statements of account from the ledger: identity, aging, reconciliation checks, prepaid deposits."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import StaffRole
from billing.invoicing.services import LineDraft, invoice_create
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.receivables.credit_notes import invoice_void
from billing.statements.build import aging_at, statement_build
from tests.billing.documents.helpers import credit_note, invoice, payment
from tests.billing.factories import spend, staff, topup
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
D = Decimal
OCT_1, OCT_31 = dt.date(2026, 10, 1), dt.date(2026, 10, 31)


@pytest.fixture
def scenario():
    """Opening 1,000 (invoice A in September); in October invoice B 500, a partial payment of 600 on A,
    a credit note of 100 on B, then 1,200 that settles both and leaves 400 overpaid; November's invoice C
    is outside the period."""
    customer = CustomerFactory(name="Acme Robotics")
    a = invoice(customer, "1000.00", dt.date(2026, 9, 10))
    b = invoice(customer, "500.00", dt.date(2026, 10, 5))
    payment(customer, "600.00", dt.date(2026, 10, 12), [(a, "600.00")], reference="BANK-PARTIAL")
    credit_note(b, "100.00", dt.date(2026, 10, 20))
    payment(customer, "1200.00", dt.date(2026, 10, 25), [(a, "400.00"), (b, "400.00")], reference="BANK-OVER")
    invoice(customer, "77.00", dt.date(2026, 11, 3))
    return customer, a, b


def test_identity_opening_charges_payments_credits_closing(scenario):
    customer, _a, b = scenario
    statement = statement_build(customer, OCT_1, OCT_31, strict=True)
    [section] = statement.sections
    assert section.currency == "CNY" and section.kind == "receivable"
    assert section.opening == D("1000")
    assert (section.charges, section.payments, section.credits) == (D("500"), D("1800"), D("100"))
    assert section.closing == D("-400")
    assert section.opening + section.charges - section.payments - section.credits == section.closing
    # ... and the closing is the ledger's own balance at the end date (November's invoice excluded).
    assert section.ledger_closing == D("-400") and section.difference == 0
    receivable = account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=customer)
    assert receivable.balance == D("-323")  # today, with invoice C: proves the statement cut at Oct 31
    assert [row.category for row in section.rows] == ["invoice", "payment", "credit_note", "payment"]
    assert [row.balance for row in section.rows] == [D("1500"), D("900"), D("800"), D("-400")]
    assert section.rows[0].reference == b.number and section.rows[0].due_date == b.due_date
    assert section.discrepancies == [] and statement.reconciles
    # Both invoices are settled at Oct 31: nothing ages; the 400 overpaid is unapplied credit.
    assert section.aging_total == 0 and section.unapplied == D("400")


def test_every_ledger_movement_is_listed_even_without_a_document(scenario):
    customer, _a, _b = scenario
    receivable = account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=customer)
    adjustments = account_get(kind=AccountKind.MANUAL_ADJUSTMENT, currency="CNY")
    transaction_post(
        idempotency_key="stmt-adjust",
        kind="manual.adjustment",
        lines=[debit(receivable, D("12.34"), "CNY"), credit(adjustments, D("12.34"), "CNY")],
        memo="Bank fee charged back",
        source="test",
        effective_date=dt.date(2026, 10, 28),
    )
    [section] = statement_build(customer, OCT_1, OCT_31, strict=True).sections
    assert section.adjustments == D("12.34")
    assert (
        section.rows[-1].category == "adjustment" and section.rows[-1].description == "Bank fee charged back"
    )
    assert section.closing == section.ledger_closing == D("-387.66")


def test_a_document_whose_ledger_total_differs_is_reported(scenario):
    customer, _a, b = scenario
    # Pretend the credit note's document says more than was posted.
    note = b.credit_notes.get()
    type(note).objects.filter(pk=note.pk).update(total=D("150.00"))
    statement = statement_build(customer, OCT_1, OCT_31)
    [section] = statement.sections
    assert len(section.discrepancies) == 1 and note.number in section.discrepancies[0]
    assert not statement.reconciles


def test_opening_balance_comes_from_the_ledger_before_the_period(scenario):
    customer, _a, _b = scenario
    [section] = statement_build(customer, dt.date(2026, 11, 1), dt.date(2026, 11, 30), strict=True).sections
    assert section.opening == D("-400") and section.charges == D("77") and section.closing == D("-323")


def test_aging_buckets_by_days_past_due_at_the_end_date():
    customer = CustomerFactory()
    end = dt.date(2026, 10, 31)
    invoices = {}
    for label, issued in {
        "current": dt.date(2026, 10, 31),
        "d1_30": dt.date(2026, 10, 1),
        "d31_60": dt.date(2026, 9, 15),
        "d61_90": dt.date(2026, 8, 10),
        "d90_plus": dt.date(2026, 5, 1),
    }.items():
        invoices[label] = invoice(customer, "100.00", issued)
    # Part of the 31-60 invoice was paid in the period; a payment after the end date does not count.
    payment(customer, "30.00", dt.date(2026, 10, 20), [(invoices["d31_60"], "30.00")])
    payment(customer, "100.00", dt.date(2026, 11, 5), [(invoices["d90_plus"], "100.00")])
    [section] = statement_build(customer, OCT_1, end).sections
    due = {k: (end - inv.due_date).days for k, inv in invoices.items()}
    assert due["current"] <= 0 and 1 <= due["d1_30"] <= 30 and 31 <= due["d31_60"] <= 60
    assert 61 <= due["d61_90"] <= 90 and due["d90_plus"] > 90
    assert {b.key: b.amount for b in section.aging} == {
        "current": D("100"),
        "d1_30": D("100"),
        "d31_60": D("70"),
        "d61_90": D("100"),
        "d90_plus": D("100"),
    }
    assert section.aging_total == section.closing == D("470")


def test_prepaid_customer_gets_a_deposit_section():
    customer = CustomerFactory()
    topup(customer, "200.00", "stmt-topup-1")
    spend(customer, "35.50", "stmt-spend-1")
    today = timezone.localdate()
    statement = statement_build(customer, today.replace(day=1), today, strict=True)
    [section] = statement.deposit_sections
    assert statement.receivable_sections == []
    assert section.opening == 0 and section.closing == D("164.50") == section.ledger_closing
    assert section.totals["topup"] == D("200.00")
    assert sum(row.decrease for row in section.rows) == D("35.50")


def test_period_must_not_be_reversed():
    with pytest.raises(ValueError):
        statement_build(CustomerFactory(), OCT_31, OCT_1)


@pytest.mark.parametrize(
    "kind, category",
    [
        ("wallet.topup.card", "topup"),
        ("wallet.topup.bank", "topup"),
        ("wallet.topup.card_refund", "refund"),
        ("wallet.topup.card_dispute", "refund"),
        ("wallet.topup.card_dispute_won", "topup"),
        ("wallet.topup.card_fee", "fee"),
        ("wallet.grant", "grant"),
        ("wallet.pack", "pack"),
        ("usage.prepaid", "usage"),
        ("wallet.breakage", "expiry"),
        ("wallet.adjustment", "adjustment"),
    ],
)
def test_deposit_movements_are_named_by_what_caused_them(kind, category):
    from billing.statements.build import _deposit_category

    assert _deposit_category(kind) == category


def test_a_voided_draft_is_neither_aged_nor_a_discrepancy():

    today = timezone.localdate()
    customer = CustomerFactory(name="Voids Ltd")
    invoice(customer, "40.00", today - dt.timedelta(days=3))  # something real, so there is a section
    draft = invoice_create(
        customer=customer,
        lines=[LineDraft(kind="service", description="Typo", amount_exact=Decimal("100"))],
    )
    voided = invoice_void(invoice=draft, reason="Wrong customer", actor=staff(StaffRole.FINANCE))
    assert (voided.status, voided.issue_date, voided.journal_transaction_id) == ("void", today, None)

    aging = aging_at(customer, "CNY", today + dt.timedelta(days=400))
    assert sum(b.amount for b in aging) == Decimal("40.00")
    statement = statement_build(customer, today - dt.timedelta(days=5), today, strict=True)
    (section,) = statement.receivable_sections
    assert section.discrepancies == []
    assert section.closing == section.aging_total == Decimal("40.00")
    assert statement.reconciles


def test_a_voided_issued_invoice_is_aged_until_its_void_and_not_after():

    today = timezone.localdate()
    customer = CustomerFactory(name="Voids Ltd")
    issued = invoice(customer, "70.00", today - dt.timedelta(days=60))
    invoice_void(invoice=issued, reason="Billed twice", actor=staff(StaffRole.FINANCE))

    assert sum(b.amount for b in aging_at(customer, "CNY", today - dt.timedelta(days=1))) == Decimal("70.00")
    assert sum(b.amount for b in aging_at(customer, "CNY", today)) == Decimal("0")
    statement = statement_build(customer, today - dt.timedelta(days=90), today, strict=True)
    assert statement.receivable_sections[0].discrepancies == []
