"""Shared set-ups of the expected-credit-loss tests: credit customers whose invoices fall due on the day they
are issued (due on receipt), so an invoice's age at any day is the days since its issue; payments dated."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from accounts.models import StaffRole
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.receivables.services import payment_record
from tests.billing.factories import staff
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.factories import CustomerFactory

D = Decimal
# The goldens (S. Firer): receivables per bucket and the rates adjusted for the outlook.
GOLDEN_GROSS = ("150.00", "200.00", "80.00", "200.00", "50.00")
GOLDEN_RATES = [D("11"), D("15"), D("25"), D("31"), D("100")]
# Ages (days past due) that fall in each bucket: current, 1–30, 31–60, 61–90, over 90.
BUCKET_AGES = (0, 10, 45, 75, 120)


def today() -> dt.date:
    return timezone.localdate()


def as_of_day() -> dt.date:
    """A past day (history, not today's cached amounts) that leaves room for later events."""
    return today() - dt.timedelta(days=10)


def credit_customer(code: str, *, currency: str = "CNY", **fields):
    customer = CustomerFactory(code=code, name=fields.pop("name", code.title()), **fields)
    credit_terms(customer, currency=currency, payment_term="on_receipt")
    return customer


def invoice_due(customer, amount: str, due: dt.date, currency: str = "CNY"):
    """An issued invoice of ``amount`` due (and issued) on ``due``."""
    invoice = issued_invoice(customer, amount, currency, issue_date=due)
    assert invoice.due_date == due, invoice.due_date
    return invoice


def golden_receivables(as_of: dt.date, *, code: str = "golden", currency: str = "CNY"):
    """One customer owing 150 / 200 / 80 / 200 / 50 in the five buckets at ``as_of``."""
    customer = credit_customer(code, currency=currency)
    for amount, age in zip(GOLDEN_GROSS, BUCKET_AGES, strict=True):
        invoice_due(customer, amount, as_of - dt.timedelta(days=age), currency)
    return customer


def pay(invoice, amount: str, on: dt.date, *, actor=None):
    """Money received on ``on`` settling ``amount`` of ``invoice`` (allocated that day)."""
    return payment_record(
        customer=invoice.customer,
        amount=D(amount),
        currency=invoice.currency,
        received_on=on,
        reference=f"bank {invoice.number} {on}",
        actor=actor or staff(StaffRole.FINANCE),
        idempotency_key=f"pay:{invoice.pk}:{on}:{amount}",
        allocate=[(invoice, D(amount))],
    )


def allowance_balance(currency: str = "CNY", book=None) -> Decimal:
    """The allowance for doubtful debts held now, positive when credit."""
    return -account_get(kind=AccountKind.ALLOWANCE_DOUBTFUL, currency=currency, book=book).balance


def expense_balance(currency: str = "CNY", book=None) -> Decimal:
    return account_get(kind=AccountKind.BAD_DEBT_EXPENSE, currency=currency, book=book).balance


def written_off(invoice, amount: str, on: dt.date):
    """Write ``amount`` of ``invoice`` off, effective ``on``: proposed by finance, approved by an admin."""
    from billing.receivables.writeoffs import writeoff_approve, writeoff_propose

    proposal = writeoff_propose(
        customer=invoice.customer,
        reason="Customer gone",
        actor=staff(StaffRole.FINANCE),
        idempotency_key=f"wo:{invoice.pk}:{on}:{amount}",
        invoices_amounts=[(invoice, D(amount))],
    )
    return writeoff_approve(write_off=proposal, approver=staff(StaffRole.ADMIN), effective_date=on)


def firer_cohort(as_of: dt.date, *, code: str = "firer", currency: str = "CNY", scale: int = 1):
    """S. Firer's cohort from our own records: 100 due 200 days before ``as_of``, paid 30 on its due date,
    25 at 20 days late, 10 at 50, 25 at 80; the 10 left written off at 150 days. Still open after 0 / 1 /
    31 / 61 / 91 days: 100 / 70 / 45 / 35 / 10; loss 10 (amounts × ``scale``)."""
    customer = credit_customer(code, currency=currency)
    due = as_of - dt.timedelta(days=200)
    invoice = invoice_due(customer, str(100 * scale), due, currency)
    for paid, late in ((30, 0), (25, 20), (10, 50), (25, 80)):
        pay(invoice, str(paid * scale), due + dt.timedelta(days=late))
    written_off(invoice, str(10 * scale), due + dt.timedelta(days=150))
    return invoice
