"""Reads for billing terms: the currency a customer is billed in; a credit customer's exposure."""

from collections import defaultdict
from decimal import Decimal

from django.conf import settings

from accounts.models import Customer
from billing.ledger.models import AccountKind, LedgerAccount

# DESIGN.md §9: exposure = receivables + unbilled − deposits. Only *paid* deposits offset risk: granted
# (promotional) credit and packs are not money the customer handed over.
EXPOSURE_KINDS = (AccountKind.RECEIVABLE, AccountKind.UNBILLED_RECEIVABLE, AccountKind.WALLET_PAID)


def exposures(*, currency_by_customer: dict[int, str]) -> dict[int, Decimal]:
    """Exposure per customer id in the given currency, from cached account balances (one query).

    Balances are debit-positive, so receivable and unbilled add and a paid deposit (a credit balance)
    subtracts; an overpayment (credit balance on receivable) lowers exposure too. Full precision.

    Read by customer, so the book follows (``accounts.chain``): a customer's own accounts are all in its
    seller's book, so this is its exposure at its seller, against the limit that seller gave. A resale
    sub-distributor's accounts in its seller's book hold its whole subtree's usage at wholesale (its
    derived usage rows), so its exposure covers its customers without any walk of the tree.
    """
    totals: dict[int, Decimal] = defaultdict(Decimal)
    rows = LedgerAccount.objects.filter(
        customer_id__in=list(currency_by_customer), kind__in=EXPOSURE_KINDS
    ).values_list("customer_id", "currency", "balance")
    for customer_id, currency, balance in rows:
        if currency == currency_by_customer[customer_id]:
            totals[customer_id] += balance
    return {customer_id: totals[customer_id] for customer_id in currency_by_customer}


def customer_exposure(*, customer: Customer, currency: str) -> Decimal:
    return exposures(currency_by_customer={customer.pk: currency})[customer.pk]


def customer_currency(customer: Customer) -> str:
    """The currency of the customer's wallet and invoices: its terms', else the base currency."""
    terms = getattr(customer, "billing_terms", None)
    return terms.currency if terms is not None else settings.BASE_CURRENCY
