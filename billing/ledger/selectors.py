"""Reads for the journal browser and the chart of accounts."""

import csv
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from billing.ledger.models import JournalEntry, LedgerAccount

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


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    # Spreadsheet programs run cells starting with these as formulas; text fields must not.
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def journal_csv_rows(entries: Iterable[JournalEntry]) -> Iterator[str]:
    """Yield the CSV lines of ``entries`` (header first); amounts at full precision, never rounded."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries:
        txn, account = entry.transaction, entry.account
        yield writer.writerow(
            [
                txn.pk,
                txn.effective_date.isoformat(),
                txn.posted_at.isoformat(),
                txn.kind,
                _cell(txn.source),
                _cell(txn.memo),
                account.code,
                _cell(account.name),
                account.customer.code if account.customer else "",
                entry.currency,
                entry.amount if entry.amount > 0 else "",
                -entry.amount if entry.amount < 0 else "",
                entry.amount,
                txn.reverses_id or "",
            ]
        )
