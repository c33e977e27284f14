from decimal import Decimal

from billing.invoicing.models import Invoice
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.receivables.services import customer_credit


def receivable(customer, currency: str = "CNY") -> Decimal:
    return account_get(kind=AccountKind.RECEIVABLE, currency=currency, customer=customer).balance


def books_agree(customer, currency: str = "CNY") -> tuple[Decimal, Decimal]:
    """(ledger receivable, Σ amount due − unallocated credit): equal whenever the books are right."""
    due = sum(
        (i.amount_due for i in Invoice.objects.filter(customer=customer, currency=currency)), Decimal("0")
    )
    return receivable(customer, currency), due - customer_credit(customer=customer, currency=currency)


def refreshed(*objects):
    for obj in objects:
        obj.refresh_from_db()
    return objects
