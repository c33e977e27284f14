"""The database itself refuses unbalanced or rewritten books on PostgreSQL (DESIGN §4.2–4.3)."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from billing.ledger.models import JournalEntry, JournalTransaction
from billing.ledger.services import credit, debit, transaction_post
from tests.billing.factories import cash, revenue


def _raw_transaction(key: str, amounts: list[tuple], currency: str = "CNY") -> JournalTransaction:
    """Write rows directly, bypassing the posting service, as a buggy or malicious writer would."""
    txn = JournalTransaction.objects.create(
        idempotency_key=key, request_hash="x", kind="test.raw", effective_date="2026-01-01"
    )
    JournalEntry.objects.bulk_create(
        JournalEntry(transaction=txn, account=account, amount=Decimal(a), currency=currency, balance_after=0)
        for account, a in amounts
    )
    return txn


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_unbalanced_transaction_fails_at_commit():
    # given two accounts
    bank, sales = cash(), revenue()
    # when a transaction whose entries do not sum to zero is committed, the deferred trigger refuses it
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        _raw_transaction("raw-unbalanced", [(bank, "10"), (sales, "-9")])
        # deferred: nothing is checked until COMMIT
        assert JournalEntry.objects.count() == 2
    # then nothing was kept
    assert not JournalTransaction.objects.filter(idempotency_key="raw-unbalanced").exists()
    assert not JournalEntry.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_balanced_raw_transaction_commits_and_a_lone_entry_does_not():
    bank, sales = cash(), revenue()
    with transaction.atomic():
        _raw_transaction("raw-balanced", [(bank, "10"), (sales, "-10")])
    assert JournalEntry.objects.count() == 2
    with pytest.raises(IntegrityError, match="at least two"), transaction.atomic():
        JournalTransaction.objects.create(
            idempotency_key="raw-empty", request_hash="x", kind="test.raw", effective_date="2026-01-01"
        )


@pytest.mark.postgres
@pytest.mark.django_db
def test_update_and_delete_of_entries_and_transactions_are_refused():
    txn = transaction_post(
        idempotency_key="k",
        kind="test.sale",
        lines=[debit(cash(), Decimal("5"), "CNY"), credit(revenue(), Decimal("5"), "CNY")],
    )
    statements = [
        ("UPDATE billing_ledger_entry SET amount = amount + 1 WHERE transaction_id = %s", "UPDATE"),
        ("DELETE FROM billing_ledger_entry WHERE transaction_id = %s", "DELETE"),
        ("UPDATE billing_ledger_transaction SET memo = 'changed' WHERE id = %s", "UPDATE"),
        ("DELETE FROM billing_ledger_transaction WHERE id = %s", "DELETE"),
    ]
    for sql, op in statements:
        with (
            pytest.raises(DatabaseError, match=f"append-only: {op} refused"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [txn.pk])
    assert sorted(e.amount for e in txn.entries.all()) == [Decimal("-5"), Decimal("5")]


@pytest.mark.postgres
@pytest.mark.django_db
def test_entry_in_another_currency_than_its_account_is_refused():
    with pytest.raises(IntegrityError, match="kept in CNY"), transaction.atomic():
        _raw_transaction("raw-ccy", [(cash(), "1"), (revenue(), "-1")], currency="USD")
