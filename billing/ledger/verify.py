"""Recompute the journal's balances from its entries and report every disagreement (``ledger_verify``)."""

from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Sum

from billing.ledger.models import JournalEntry, JournalTransaction, LedgerAccount


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


def ledger_problems() -> list[str]:
    """Return a line per problem found in the journal; an empty list means it agrees with itself.

    Only the ledger's own records: ``manage.py ledger_verify`` adds the wallets' lots
    (``billing.wallets.verify.wallet_problems``).
    """
    problems: list[str] = []
    if sums_in_python():
        sums = decimal_sums(
            JournalEntry.objects.values_list("account_id", "amount").iterator(chunk_size=5000), lambda r: r[0]
        )
    else:
        sums = dict(
            JournalEntry.objects.values_list("account")
            .annotate(total=Sum("amount"))
            .values_list("account", "total")
        )
    for account_id, code, balance in LedgerAccount.objects.values_list("pk", "code", "balance").order_by(
        "code"
    ):
        total = sums.get(account_id) or Decimal("0")
        if total != balance:
            problems.append(f"account {code}: cached balance {balance} but its entries sum to {total}")

    if sums_in_python():
        per_txn = decimal_sums(
            JournalEntry.objects.values_list("transaction_id", "currency", "amount").iterator(
                chunk_size=5000
            ),
            lambda r: (r[0], r[1]),
        )
        unbalanced = [
            {"transaction": txn, "currency": ccy, "total": total}
            for (txn, ccy), total in sorted(per_txn.items())
            if total != 0
        ]
    else:
        unbalanced = (
            JournalEntry.objects.values("transaction", "currency")
            .annotate(total=Sum("amount"))
            .exclude(total=0)
            .order_by("transaction")
        )
    for row in unbalanced:
        problems.append(
            f"transaction #{row['transaction']}: {row['currency']} entries sum to {row['total']}, not zero"
        )
    for txn_id, count in (
        JournalTransaction.objects.annotate(n=Count("entries")).filter(n__lt=2).values_list("pk", "n")
    ):
        problems.append(f"transaction #{txn_id}: has {count} entries, needs at least two")
    for entry_id, code, currency in JournalEntry.objects.exclude(currency=F("account__currency")).values_list(
        "pk", "account__code", "currency"
    ):
        problems.append(f"entry #{entry_id}: in {currency} on account {code} kept in another currency")

    # The running balance stored on each entry must chain: entries of one account are inserted under its
    # row lock, so id order is posting order.
    codes = dict(LedgerAccount.objects.values_list("pk", "code"))
    running: dict[int, Decimal] = defaultdict(Decimal)
    broken: set[int] = set()
    rows = JournalEntry.objects.order_by("account_id", "id").values_list(
        "pk", "account_id", "amount", "balance_after"
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
