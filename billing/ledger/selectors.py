"""Reads for the journal browser and the chart of accounts."""

from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from billing.ledger.models import JournalEntry, LedgerAccount
from common.csv_export import CsvWriter

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


def journal_entries() -> QuerySet[JournalEntry]:
    return JournalEntry.objects.select_related(
        "transaction", "account", "account__customer", "account__vendor"
    ).order_by("-transaction_id", "id")


def ledger_accounts() -> QuerySet[LedgerAccount]:
    return LedgerAccount.objects.select_related("customer", "vendor").order_by("code")


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
                txn.posted_at.isoformat(),
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
