"""Recompute the books from their entries and report every disagreement (``manage.py ledger_verify``)."""

from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Sum

from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction, LedgerAccount


def _decimal_sums(rows, key) -> dict:
    """Sum ``amount`` per ``key(row)`` in Python with Decimal."""
    sums: dict = defaultdict(Decimal)
    for row in rows:
        sums[key(row)] += row[-1]
    return sums


def _sums_in_python() -> bool:
    # SQLite (the `make run` demo) sums decimals as floats: 0.1 + 0.2 comes back 0.30000000000000004,
    # which would report every invoice posting as off by ~1e-13. PostgreSQL sums numerics exactly.
    return connection.vendor == "sqlite"


def ledger_problems() -> list[str]:
    """Return a line per problem found; an empty list means the books agree with themselves."""
    problems: list[str] = []
    if _sums_in_python():
        sums = _decimal_sums(
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

    if _sums_in_python():
        per_txn = _decimal_sums(
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
    problems.extend(_wallet_problems())
    return problems


def _wallet_problems() -> list[str]:
    from billing.wallets.models import WalletLot, WalletLotUse

    problems: list[str] = []
    lots = WalletLot.objects.annotate(used=Sum("uses__amount")).select_related("account")
    used_of = None
    if _sums_in_python():
        lots = WalletLot.objects.select_related("account")
        used_of = _decimal_sums(WalletLotUse.objects.values_list("lot_id", "amount"), lambda r: r[0])
    held: dict[int, Decimal] = defaultdict(Decimal)
    for lot in lots:
        used = used_of.get(lot.pk) if used_of is not None else lot.used
        expected = lot.amount - (used or Decimal("0"))
        if expected != lot.remaining:
            problems.append(
                f"wallet lot #{lot.pk} ({lot.account.code}): remaining {lot.remaining}, uses say {expected}"
            )
        held[lot.account_id] += lot.remaining
    lot_kinds = (AccountKind.WALLET_GRANTED, AccountKind.WALLET_PACK)
    for account in LedgerAccount.objects.filter(kind__in=lot_kinds):
        in_lots = held.get(account.pk, Decimal("0"))
        if -account.balance != in_lots:
            problems.append(
                f"account {account.code}: holds {-account.balance} but its open lots hold {in_lots}"
            )
    return problems
