"""Reads for the ledger pages: books, the journal, the chart of accounts and the trial balance.

Every read is of one book (``accounts.chain``): the operator's (``book_id`` None) or a resale
sub-distributor's. A book balances on its own, so its trial balance sums to zero per currency; mixing books
would count a sale across a hop twice (once in each book).
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext

from accounts.models import Customer
from billing.ledger.models import AccountType, JournalEntry, JournalTransaction, LedgerAccount
from common.csv_export import CsvWriter

OPERATOR_KEY = "operator"

CSV_COLUMNS = [
    "transaction",
    "effective_date",
    "posted_at",
    "kind",
    "source",
    "memo",
    "account",
    "account_name",
    "customer",
    "currency",
    "debit",
    "credit",
    "amount",
    "reverses",
]
TRIAL_BALANCE_COLUMNS = ["account", "account_name", "type", "currency", "debit", "credit", "balance"]


@dataclass(frozen=True)
class Book:
    """One set of books: the operator's (``customer`` None) or a resale sub-distributor's."""

    customer: Customer | None

    @property
    def pk(self) -> int | None:
        return self.customer.pk if self.customer is not None else None

    @property
    def key(self) -> str:
        """How URLs and ``ledger_verify --book`` name it: ``operator`` or the customer's code."""
        return self.customer.code if self.customer is not None else OPERATOR_KEY

    @property
    def label(self) -> str:
        return self.customer.name if self.customer is not None else settings.OPERATOR_NAME

    def __str__(self) -> str:
        return f"{self.label} ({self.key})"

    @property
    def choice_label(self) -> str:
        """How a dropdown names it, in the active language: a customer's book by name and code, the
        operator's as "<name> (operator)" translated (its key is English, not a word for the reader)."""
        if self.customer is not None:
            return str(self)
        return gettext("%(name)s (operator)") % {"name": self.label}


OPERATOR_BOOK = Book(customer=None)


def book_keepers() -> QuerySet[Customer]:
    """Customers with a book: every resale sub-distributor, and any whose book already holds accounts or
    transactions (a sub-distributor switched to another mode keeps its history readable)."""
    return Customer.objects.filter(
        Q(kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode=Customer.ChainMode.RESALE)
        | Q(pk__in=LedgerAccount.objects.filter(book__isnull=False).values("book"))
        | Q(pk__in=JournalTransaction.objects.filter(book__isnull=False).values("book"))
    ).order_by("name", "pk")


def books_list() -> list[Book]:
    """Every book, the operator's first, then the sub-distributors' by name."""
    return [OPERATOR_BOOK, *(Book(customer=c) for c in book_keepers())]


def book_find(key: str | None) -> Book | None:
    """The book named ``key`` (``operator`` or a customer code; empty is the operator's), or None."""
    if not key or key == OPERATOR_KEY:
        return OPERATOR_BOOK
    customer = book_keepers().filter(code=key).first()
    return Book(customer=customer) if customer is not None else None


def book_of(book_id: int | None) -> Book:
    """The book with this id (None: the operator's)."""
    if book_id is None:
        return OPERATOR_BOOK
    return Book(customer=Customer.objects.get(pk=book_id))


def in_book(prefix: str, book_id: int | None) -> Q:
    """The condition "``<prefix>book`` is this book", the operator's being NULL."""
    if book_id is None:
        return Q(**{f"{prefix}book__isnull": True})
    return Q(**{f"{prefix}book_id": book_id})


def journal_entries(book_id: int | None = None) -> QuerySet[JournalEntry]:
    """The entries of the transactions in one book, newest transaction first."""
    return (
        JournalEntry.objects.filter(in_book("transaction__", book_id))
        .select_related("transaction", "account", "account__customer", "account__vendor")
        .order_by("-transaction_id", "id")
    )


def ledger_accounts(book_id: int | None = None) -> QuerySet[LedgerAccount]:
    """The chart of accounts of one book."""
    return (
        LedgerAccount.objects.filter(in_book("", book_id))
        .select_related("customer", "vendor")
        .order_by("code")
    )


def journal_csv_rows(entries: Iterable[JournalEntry]) -> Iterator[str]:
    """Yield the CSV lines of ``entries`` (header first); amounts at full precision, never rounded."""
    writer = CsvWriter()
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries:
        txn, account = entry.transaction, entry.account
        yield writer.writerow(
            [
                txn.pk,
                txn.effective_date.isoformat(),
                txn.posted_at,
                txn.kind,
                txn.source,
                txn.memo,
                account.code,
                account.name,
                account.customer.code if account.customer else "",
                entry.currency,
                entry.amount if entry.amount > 0 else "",
                -entry.amount if entry.amount < 0 else "",
                entry.amount,
                txn.reverses_id or "",
            ]
        )


@dataclass
class TrialBalanceLine:
    account: LedgerAccount
    balance: Decimal  # debit-positive, full precision

    @property
    def debit(self) -> Decimal | None:
        return self.balance if self.balance > 0 else None

    @property
    def credit(self) -> Decimal | None:
        return -self.balance if self.balance < 0 else None


@dataclass
class TrialBalanceCurrency:
    currency: str
    lines: list[TrialBalanceLine] = field(default_factory=list)

    @property
    def debits(self) -> Decimal:
        return sum((line.debit or Decimal("0") for line in self.lines), Decimal("0"))

    @property
    def credits(self) -> Decimal:
        return sum((line.credit or Decimal("0") for line in self.lines), Decimal("0"))

    @property
    def difference(self) -> Decimal:
        """Debits less credits: zero when the book balances in this currency."""
        return self.debits - self.credits


_TYPE_ORDER = {t: i for i, t in enumerate(AccountType.values)}


def trial_balance(book_id: int | None = None, *, as_of: date | None = None) -> list[TrialBalanceCurrency]:
    """One book's accounts with a balance, per currency, summed from the entries (not the cached balances,
    which ``ledger_verify`` checks) up to ``as_of`` (effective date, inclusive; None: everything posted).
    """
    entries = JournalEntry.objects.filter(in_book("account__", book_id))
    if as_of is not None:
        entries = entries.filter(transaction__effective_date__lte=as_of)
    sums: dict[int, Decimal] = defaultdict(Decimal)
    if connection.vendor == "sqlite":
        # SQLite (the demo) sums decimals as floats: sum them here, exactly.
        for account_id, amount in entries.values_list("account_id", "amount").iterator(chunk_size=5000):
            sums[account_id] += amount
    else:
        sums.update(entries.order_by().values_list("account_id").annotate(total=Sum("amount")))
    accounts = LedgerAccount.objects.filter(pk__in=[pk for pk, total in sums.items() if total != 0])
    per_currency: dict[str, TrialBalanceCurrency] = {}
    for account in accounts.select_related("customer", "vendor"):
        group = per_currency.setdefault(account.currency, TrialBalanceCurrency(currency=account.currency))
        group.lines.append(TrialBalanceLine(account=account, balance=sums[account.pk]))
    for group in per_currency.values():
        group.lines.sort(key=lambda line: (_TYPE_ORDER.get(line.account.type, 99), line.account.code))
    return [per_currency[ccy] for ccy in sorted(per_currency)]


def trial_balance_csv_rows(groups: list[TrialBalanceCurrency]) -> Iterator[str]:
    """Yield a trial balance as CSV (header first), a TOTAL line per currency; full precision."""
    writer = CsvWriter()
    yield writer.writerow(TRIAL_BALANCE_COLUMNS)
    for group in groups:
        for line in group.lines:
            a = line.account
            yield writer.writerow([a.code, a.name, a.type, a.currency, line.debit, line.credit, line.balance])
        yield writer.writerow(
            ["TOTAL", "", "", group.currency, group.debits, group.credits, group.difference]
        )


def account_entries(account: LedgerAccount) -> QuerySet[JournalEntry]:
    """One account's entries, newest first, with the running balance each left."""
    return account.entries.select_related("transaction").order_by("-id")


def book_totals(book_id: int | None) -> dict[str, int]:
    """How many accounts and transactions a book holds."""
    return {
        "accounts": LedgerAccount.objects.filter(in_book("", book_id)).count(),
        "transactions": JournalTransaction.objects.filter(in_book("", book_id)).count(),
    }
