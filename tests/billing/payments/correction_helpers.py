"""Builders for correction tests: a credit customer, its invoices and payments, and the balances to check."""

from datetime import date
from decimal import Decimal

from billing.invoicing.models import Invoice
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.receivables.services import customer_credit, payment_record
from tests.billing.invoicing.factories import credit_terms
from tests.factories import CustomerFactory

D = Decimal
NOV_2 = date(2026, 11, 2)
NOV_20 = date(2026, 11, 20)


def credit_customer(name: str = "Lumen Labs"):
    customer = CustomerFactory(name=name)
    credit_terms(customer, currency="CNY")
    return customer


def bank_payment(customer, amount: str, actor, *, key: str, received_on=NOV_2, allocate="oldest"):
    return payment_record(
        customer=customer,
        amount=D(amount),
        currency="CNY",
        received_on=received_on,
        reference=f"BANK-{key}",
        actor=actor,
        idempotency_key=key,
        allocate=allocate,
    )


def books(customer) -> dict[str, Decimal]:
    """The balances a correction moves: cash, Stripe clearing, the customer's receivable and credit."""
    return {
        "cash": account_get(kind=AccountKind.CASH_BANK, currency="CNY").balance,
        "clearing": account_get(kind=AccountKind.STRIPE_CLEARING, currency="CNY").balance,
        "receivable": account_get(kind=AccountKind.RECEIVABLE, currency="CNY", customer=customer).balance,
        "credit": customer_credit(customer=customer, currency="CNY"),
    }


def books_agree(customer) -> bool:
    """The receivable invariant: ledger receivable = Σ amount due − unapplied credit."""
    due = sum((i.amount_due for i in Invoice.objects.filter(customer=customer)), D("0"))
    b = books(customer)
    return b["receivable"] == due - b["credit"]
