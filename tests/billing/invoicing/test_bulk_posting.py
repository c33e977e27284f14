"""ledger.transactions_post_many (period close posts invoices with it): rows as transaction_post writes."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from billing.ledger.exceptions import IdempotencyConflictError, LedgerError
from billing.ledger.models import JournalEntry
from billing.ledger.services import Posting, credit, debit, transactions_post_many
from tests.billing.factories import cash, revenue

pytestmark = pytest.mark.django_db


def posting(key, amount, memo="m"):
    amount = Decimal(amount)
    return Posting(
        idempotency_key=key,
        kind="test.bulk",
        lines=[debit(cash(), amount, "CNY"), credit(revenue(), amount, "CNY")],
        memo=memo,
    )


def test_many_postings_keep_running_balances_and_replay():
    first = transactions_post_many(postings=[posting("a", "1.5"), posting("b", "2.25")])
    assert [t.idempotency_key for t in first] == ["a", "b"]
    assert cash().balance == Decimal("3.75") and revenue().balance == Decimal("-3.75")
    after = list(
        JournalEntry.objects.filter(account=cash()).order_by("id").values_list("balance_after", flat=True)
    )
    assert after == [Decimal("1.5"), Decimal("3.75")]

    again = transactions_post_many(postings=[posting("b", "2.25"), posting("c", "1")])
    assert again[0].pk == first[1].pk
    assert cash().balance == Decimal("4.75")
    call_command("ledger_verify")

    with pytest.raises(IdempotencyConflictError):
        transactions_post_many(postings=[posting("a", "9")])
    with pytest.raises(LedgerError):
        transactions_post_many(postings=[posting("d", "1"), posting("d", "1")])
    assert cash().balance == Decimal("4.75")


def test_a_callers_own_fingerprint_body_is_refused_outside_the_wallet_service():
    """Posting.request replaces the line-based fingerprint; only billing.wallets may use it."""
    amount = Decimal("1")
    own = Posting(
        idempotency_key="own",
        kind="test.bulk",
        lines=[debit(cash(), amount, "CNY"), credit(revenue(), amount, "CNY")],
        request={"anything": 1},
    )
    with pytest.raises(LedgerError, match="wallet debits only"):
        transactions_post_many(postings=[own])
    assert not JournalEntry.objects.exists()
