"""Two books to read: the operator's and resale sub-distributor S's, posted through the ledger service."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from accounts.models import Customer
from accounts.services import customer_create
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction, LedgerAccount
from billing.ledger.services import credit, debit, transaction_post

K = AccountKind


@dataclass
class Books:
    direct: Customer  # the operator's own end customer
    s: Customer  # a resale sub-distributor: its own book
    shop: Customer  # S's end customer, in S's book
    operator_sale: JournalTransaction
    s_sale: JournalTransaction
    s_cost: JournalTransaction

    def operator_accounts(self) -> list[LedgerAccount]:
        return list(LedgerAccount.objects.filter(book__isnull=True))

    def s_accounts(self) -> list[LedgerAccount]:
        return list(LedgerAccount.objects.filter(book=self.s))


def _post(key: str, kind: str, debit_account, credit_account, amount: str, day: date, memo: str):
    value = Decimal(amount)
    return transaction_post(
        idempotency_key=key,
        kind=kind,
        lines=[debit(debit_account, value, "CNY"), credit(credit_account, value, "CNY")],
        memo=memo,
        effective_date=day,
    )


def two_books() -> Books:
    """The operator sells 100 to its customer; S sells 30 to its customer and owes its seller 20 for it."""
    direct = customer_create(name="Direct Co", code="direct-co")
    s = customer_create(name="Reseller S", code="reseller-s", kind=Customer.Kind.SUB_DISTRIBUTOR)
    shop = customer_create(name="Shop C", code="shop-c", parent=s)
    operator_sale = _post(
        "op-sale",
        "usage.credit",
        account_get(kind=K.RECEIVABLE, currency="CNY", customer=direct),
        account_get(kind=K.REVENUE_USAGE, currency="CNY"),
        "100",
        date(2026, 3, 5),
        "operator sale",
    )
    s_sale = _post(
        "s-sale",
        "usage.credit",
        account_get(kind=K.RECEIVABLE, currency="CNY", customer=shop),
        account_get(kind=K.REVENUE_USAGE, currency="CNY", book=s),
        "30",
        date(2026, 3, 10),
        "reseller sale",
    )
    s_cost = _post(
        "s-cost",
        "usage.cost",
        account_get(kind=K.COST_OF_TOKENS, currency="CNY", book=s),
        account_get(kind=K.DUE_TO_SELLER, currency="CNY", book=s),
        "20",
        date(2026, 3, 20),
        "reseller wholesale cost",
    )
    return Books(direct=direct, s=s, shop=shop, operator_sale=operator_sale, s_sale=s_sale, s_cost=s_cost)
