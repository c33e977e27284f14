"""Payments and credit notes for statement tests, posted the way billing.receivables posts them.

Invoices come from ``tests.billing.invoicing.factories.issued_invoice`` (the real issuing service). The
receivables services were still moving when these tests were written, so payments and credit notes are
built here from the models with the same ledger postings (Dr cash / Cr receivable; Dr revenue / Cr
receivable); the statement only reads the ledger and the documents.
"""

import datetime as dt
import itertools
from decimal import Decimal

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, transaction_post
from billing.receivables.models import CreditNote, CustomerPayment, PaymentAllocation
from tests.billing.invoicing.factories import issued_invoice

_seq = itertools.count(1)


def invoice(customer, amount, day: dt.date, currency="CNY"):
    return issued_invoice(customer, amount, currency, issue_date=day)


def payment(customer, amount, day: dt.date, allocations=(), currency="CNY", reference=None):
    n = next(_seq)
    amount = Decimal(amount)
    p = CustomerPayment.objects.create(
        customer=customer,
        method=CustomerPayment.Method.BANK,
        amount=amount,
        currency=currency,
        received_on=day,
        reference=reference or f"BANK-{n}",
        idempotency_key=f"test-payment-{n}",
    )
    receivable = account_get(kind=AccountKind.RECEIVABLE, currency=currency, customer=customer)
    cash = account_get(kind=AccountKind.CASH_BANK, currency=currency)
    p.journal_transaction = transaction_post(
        idempotency_key=f"test-payment-{n}",
        kind="receivables.payment",
        lines=[debit(cash, amount, currency), credit(receivable, amount, currency)],
        memo=f"Payment {p.reference}",
        source=f"payment:{p.pk}",
        effective_date=day,
    )
    p.save(update_fields=["journal_transaction"])
    for inv, part in allocations:
        part = Decimal(part)
        # Dated on the payment day, as if allocated when received.
        PaymentAllocation.objects.create(
            payment=p,
            invoice=inv,
            amount=part,
            allocated_at=dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC),
        )
        inv.amount_paid += part
        inv.status = "paid" if inv.amount_paid + inv.amount_credited >= inv.total else "partially_paid"
        inv.save(update_fields=["amount_paid", "status"])
    return p


def credit_note(inv, amount, day: dt.date, reason="Service credit"):
    n = next(_seq)
    amount = Decimal(amount)
    note = CreditNote.objects.create(
        customer=inv.customer,
        invoice=inv,
        series=f"CN-{day.year}",
        number=f"CN-{day.year}-T{n:05d}",
        reason=reason,
        currency=inv.currency,
        language=inv.language,
        issue_date=day,
        subtotal=amount,
        total=amount,
        idempotency_key=f"test-credit-note-{n}",
    )
    receivable = account_get(kind=AccountKind.RECEIVABLE, currency=inv.currency, customer=inv.customer)
    revenue = account_get(kind=AccountKind.REVENUE_SERVICES, currency=inv.currency)
    note.journal_transaction = transaction_post(
        idempotency_key=f"test-credit-note-{n}",
        kind="credit_note.issue",
        lines=[debit(revenue, amount, inv.currency), credit(receivable, amount, inv.currency)],
        memo=f"Credit note {note.number}",
        source=f"credit_note:{note.pk}",
        effective_date=day,
    )
    note.save(update_fields=["journal_transaction"])
    inv.amount_credited += amount
    inv.save(update_fields=["amount_credited"])
    return note
