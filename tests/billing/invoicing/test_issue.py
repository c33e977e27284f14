"""Issuing an invoice: gapless number, due date from terms, one balanced posting, rounding residual."""

from datetime import date
from decimal import Decimal

import pytest

from billing.invoicing.models import Invoice
from billing.invoicing.services import InvoiceError, LineDraft, invoice_create, invoice_issue
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalEntry
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def balance(kind, customer=None, currency="CNY"):
    owner = {"customer": customer} if customer else {}
    return account_get(kind=kind, currency=currency, **owner).balance


def test_issue_numbers_dates_and_posts():
    customer = CustomerFactory()
    credit_terms(customer, payment_term="eom", payment_days=30, tax_rate=Decimal("0.06"))
    invoice = invoice_create(
        customer=customer,
        lines=[
            LineDraft(kind="usage", description="gpt", amount_exact=Decimal("10.123456789012")),
            LineDraft(kind="usage", description="claude", amount_exact=Decimal("5.004999999999")),
            LineDraft(kind="subscription", description="Coding plan", amount_exact=Decimal("99")),
        ],
    )
    assert invoice.status == Invoice.Status.DRAFT and invoice.number is None
    # 10.12 + 5.00 + 99.00 = 114.12; tax 0.61 + 0.30 + 5.94 = 6.85
    assert (invoice.subtotal, invoice.tax_amount, invoice.total) == (
        Decimal("114.12"),
        Decimal("6.85"),
        Decimal("120.97"),
    )

    issued = invoice_issue(invoice=invoice, issue_date=date(2026, 1, 31))

    assert issued.status == Invoice.Status.ISSUED
    assert issued.number == "INV-2026-000001"
    assert issued.due_date == date(2026, 3, 2)
    txn = issued.journal_transaction
    assert sum(e.amount for e in txn.entries.all()) == 0
    assert balance(AccountKind.RECEIVABLE, customer) == Decimal("120.97")
    assert balance(AccountKind.UNBILLED_RECEIVABLE, customer) == -Decimal("15.128456789011")
    assert balance(AccountKind.REVENUE_SUBSCRIPTIONS) == -Decimal("99")
    assert balance(AccountKind.TAX_PAYABLE) == -Decimal("6.85")
    # Rounded 15.12 against exact 15.128456789011: we rounded down, a 0.008456789011 debit to rounding.
    assert balance(AccountKind.ROUNDING) == Decimal("0.008456789011")


def test_issue_twice_changes_nothing_and_numbers_are_gapless():
    customer = CustomerFactory()
    first = issued_invoice(customer, "10.00", issue_date=date(2026, 5, 1))
    again = invoice_issue(invoice=first, issue_date=date(2026, 6, 1))
    second = issued_invoice(customer, "20.00", issue_date=date(2026, 5, 2))
    assert again.number == first.number == "INV-2026-000001"
    assert again.issue_date == date(2026, 5, 1)
    assert second.number == "INV-2026-000002"
    assert JournalEntry.objects.filter(transaction__kind="invoice.issue").count() == 4
    assert balance(AccountKind.RECEIVABLE, customer) == Decimal("30.00")


def test_void_and_empty_invoices_are_refused():
    customer = CustomerFactory()
    invoice = issued_invoice(customer, "10.00")
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.VOID)
    with pytest.raises(InvoiceError, match="void"):
        invoice_issue(invoice=invoice)
    with pytest.raises(InvoiceError, match="at least one line"):
        invoice_create(customer=customer, lines=[])


def test_issued_invoice_helper_in_usd():
    customer = CustomerFactory()
    invoice = issued_invoice(customer, amount="12.34", currency="USD")
    assert invoice.currency == "USD" and invoice.total == Decimal("12.34")
    assert balance(AccountKind.RECEIVABLE, customer, "USD") == Decimal("12.34")
