"""Recompute the journal's balances from its entries and report every disagreement (``ledger_verify``).

Book by book (``accounts.chain``): each book's entries sum to zero per currency, each of its accounts' cached
balance is the sum of its entries, and every entry of its transactions is on one of its own accounts. A
book that balances only together with another would hide a sale posted on the wrong side of a hop.
A resale sub-distributor's book also agrees with its seller's (:func:`reseller_position_problems`): what it
owes its seller there is what its seller's book says it owes.
"""

from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Sum

from accounts.models import Customer
from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction, LedgerAccount
from billing.ledger.selectors import book_keepers, in_book


def decimal_sums(rows, key) -> dict:
    """Sum each row's last value (an amount) per ``key(row)`` in Python, with Decimal."""
    sums: dict = defaultdict(Decimal)
    for row in rows:
        sums[key(row)] += row[-1]
    return sums


def sums_in_python() -> bool:
    """Whether checks must sum amounts in Python (:func:`decimal_sums`) rather than in SQL."""
    # SQLite (the `make run` demo) sums decimals as floats: 0.1 + 0.2 comes back 0.30000000000000004,
    # which would report every invoice posting as off by ~1e-13. PostgreSQL sums numerics exactly.
    return connection.vendor == "sqlite"


def _sums(entries, *fields: str) -> dict:
    """Sum ``entries``' amounts per value of ``fields`` (a tuple key when several), exactly."""
    if sums_in_python():
        rows = entries.values_list(*fields, "amount").iterator(chunk_size=5000)
        if len(fields) == 1:
            return decimal_sums(rows, lambda r: r[0])
        return decimal_sums(rows, lambda r: tuple(r[:-1]))
    grouped = entries.order_by().values_list(*fields).annotate(total=Sum("amount"))
    if len(fields) == 1:
        return dict(grouped.values_list(fields[0], "total"))
    return {tuple(row[:-1]): row[-1] for row in grouped.values_list(*fields, "total")}


def book_ids() -> list[int | None]:
    """Every book to check: the operator's (None) first, then each sub-distributor's."""
    return [None, *book_keepers().values_list("pk", flat=True)]


def ledger_problems() -> list[str]:
    """Return a line per problem found in the journal, every book; an empty list means it agrees with itself.

    Only the ledger's own records: ``manage.py ledger_verify`` adds the wallets' lots
    (``billing.wallets.verify.wallet_problems``).
    """
    return [problem for book_id in book_ids() for problem in book_problems(book_id)]


def book_problems(book_id: int | None) -> list[str]:
    """Return a line per problem found in one book (None: the operator's)."""
    problems: list[str] = []
    accounts = LedgerAccount.objects.filter(in_book("", book_id))
    book_entries = JournalEntry.objects.filter(in_book("transaction__", book_id))

    sums = _sums(JournalEntry.objects.filter(in_book("account__", book_id)), "account")
    for account_id, code, balance in accounts.values_list("pk", "code", "balance").order_by("code"):
        total = sums.get(account_id) or Decimal("0")
        if total != balance:
            problems.append(f"account {code}: cached balance {balance} but its entries sum to {total}")

    for currency, total in sorted(_sums(book_entries, "currency").items()):
        if total != 0:
            problems.append(f"book: {currency} entries sum to {total}, not zero")
    for (txn_id, currency), total in sorted(_sums(book_entries, "transaction", "currency").items()):
        if total != 0:
            problems.append(f"transaction #{txn_id}: {currency} entries sum to {total}, not zero")
    transactions = JournalTransaction.objects.filter(in_book("", book_id))
    for txn_id, count in transactions.annotate(n=Count("entries")).filter(n__lt=2).values_list("pk", "n"):
        problems.append(f"transaction #{txn_id}: has {count} entries, needs at least two")
    for entry_id, code, currency in book_entries.exclude(currency=F("account__currency")).values_list(
        "pk", "account__code", "currency"
    ):
        problems.append(f"entry #{entry_id}: in {currency} on account {code} kept in another currency")
    # PostgreSQL refuses such an entry (migration 0034); SQLite, the demo's database, does not.
    for entry_id, txn_id, code in book_entries.exclude(in_book("account__", book_id)).values_list(
        "pk", "transaction", "account__code"
    ):
        problems.append(f"entry #{entry_id} of transaction #{txn_id}: account {code} is in another book")
    problems.extend(_running_problems(accounts))
    if book_id is not None:
        problems.extend(reseller_position_problems(book_id))
    return problems


# A customer's own accounts at its seller whose sum (debit-positive) is what it owes that seller, net.
POSITION_KINDS = (
    AccountKind.WALLET_PAID,
    AccountKind.WALLET_GRANTED,
    AccountKind.WALLET_PACK,
    AccountKind.RECEIVABLE,
    AccountKind.UNBILLED_RECEIVABLE,
)


# The seller's write-off of S's receivable, its recoveries and their reversals (billing.receivables
# .writeoffs and .recoveries; named here because the ledger imports nothing above it). Writing a debt off
# is the seller's estimate that it will not be paid, not a release: S still owes it, and its book keeps
# the debt due to its seller until S pays. So these postings do not move S's position.
SELLER_WRITE_OFF_KINDS = (
    "receivable.write_off",
    "receivable.bad_debt_recovered",
    "receivable.bad_debt_recovery_reversed",
)


def reseller_position_problems(book_id: int) -> list[str]:
    """The book of resale sub-distributor S: per currency, its DUE_TO_SELLER must equal minus S's net
    balance at its seller (S's wallets there, less its receivable and unbilled usage, not counting the
    seller's write-offs of S's debt: ``SELLER_WRITE_OFF_KINDS``), else one line naming S. A book kept by a
    customer that no longer resells is not checked: its seller's book holds S's position for what S buys
    now."""
    reseller = Customer.objects.filter(pk=book_id).first()
    if reseller is None or not reseller.is_reseller:
        return []
    position = _sums(
        JournalEntry.objects.filter(account__customer_id=book_id, account__kind__in=POSITION_KINDS).exclude(
            transaction__kind__in=SELLER_WRITE_OFF_KINDS
        ),
        "currency",
    )
    due = _sums(
        JournalEntry.objects.filter(account__book_id=book_id, account__kind=AccountKind.DUE_TO_SELLER),
        "currency",
    )
    problems = []
    for currency in sorted(position.keys() | due.keys()):
        net, owed = position.get(currency) or Decimal(0), due.get(currency) or Decimal(0)
        if owed != -net:
            problems.append(
                f"reseller {reseller.code}: due to its seller {-owed} {currency} in its book, "
                f"but its seller's book says it owes {net} (wallets less receivable and unbilled)"
            )
    return problems


def _running_problems(accounts) -> list[str]:
    """The running balance stored on each entry must chain: entries of one account are inserted under its
    row lock, so id order is posting order."""
    problems: list[str] = []
    codes = dict(accounts.values_list("pk", "code"))
    running: dict[int, Decimal] = defaultdict(Decimal)
    broken: set[int] = set()
    rows = (
        JournalEntry.objects.filter(account__in=accounts.values("pk"))
        .order_by("account_id", "id")
        .values_list("pk", "account_id", "amount", "balance_after")
    )
    for entry_id, account_id, amount, balance_after in rows.iterator(chunk_size=5000):
        running[account_id] += amount
        if running[account_id] != balance_after and account_id not in broken:
            broken.add(account_id)
            problems.append(
                f"account {codes[account_id]}: entry #{entry_id} records balance {balance_after}, "
                f"entries up to it sum to {running[account_id]}"
            )
    return problems
