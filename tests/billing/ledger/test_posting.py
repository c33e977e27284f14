from decimal import Decimal

import pytest

from billing.ledger.exceptions import IdempotencyConflictError, LedgerError, UnbalancedTransactionError
from billing.ledger.models import AccountKind, JournalEntry, LedgerAccount
from billing.ledger.services import credit, debit, transaction_post, transaction_reverse
from tests.billing.factories import cash, revenue

pytestmark = pytest.mark.django_db


def _sale(key="k1", amount=Decimal("10.50")):
    return transaction_post(
        idempotency_key=key,
        kind="test.sale",
        lines=[debit(cash(), amount, "CNY"), credit(revenue(), amount, "CNY")],
        memo="a sale",
    )


def test_post_updates_cached_balances_and_running_balance():
    txn = _sale()
    _sale("k2", Decimal("1.25"))
    assert LedgerAccount.objects.get(pk=cash().pk).balance == Decimal("11.75")
    assert revenue().display_balance == Decimal("11.75")
    assert [e.balance_after for e in txn.entries.order_by("id")] == [Decimal("10.50"), Decimal("-10.50")]


def test_unbalanced_transaction_refused_by_service_nothing_written():
    with pytest.raises(UnbalancedTransactionError, match="CNY"):
        transaction_post(
            idempotency_key="bad",
            kind="test.sale",
            lines=[debit(cash(), Decimal("10"), "CNY"), credit(revenue(), Decimal("9.99"), "CNY")],
        )
    assert not JournalEntry.objects.exists()
    assert cash().balance == 0


def test_same_key_same_body_returns_first_and_different_body_errors():
    first = _sale()
    assert _sale().pk == first.pk
    assert JournalEntry.objects.count() == 2
    with pytest.raises(IdempotencyConflictError):
        _sale(amount=Decimal("10.51"))
    assert cash().balance == Decimal("10.50")


def test_entries_refuse_update_and_delete_in_python():
    txn = _sale()
    entry = txn.entries.first()
    entry.amount = Decimal("1")
    with pytest.raises(LedgerError):
        entry.save()
    with pytest.raises(LedgerError):
        entry.delete()
    with pytest.raises(LedgerError):
        JournalEntry.objects.filter(pk=entry.pk).update(amount=Decimal("2"))
    with pytest.raises(LedgerError):
        JournalEntry.objects.all().delete()


def test_reversal_mirrors_and_only_once():
    txn = _sale()
    rev = transaction_reverse(original=txn, idempotency_key="rev1", memo="oops")
    assert rev.reverses == txn
    assert cash().balance == 0
    assert transaction_reverse(original=txn, idempotency_key="rev1", memo="oops").pk == rev.pk
    with pytest.raises(LedgerError, match="already reversed"):
        transaction_reverse(original=txn, idempotency_key="rev2", memo="again")


def test_wallet_accounts_refused_outside_wallet_service():
    from billing.ledger.accounts import account_get
    from tests.factories import CustomerFactory

    wallet = account_get(kind=AccountKind.WALLET_PAID, currency="CNY", customer=CustomerFactory())
    with pytest.raises(LedgerError, match=r"billing\.wallets"):
        transaction_post(
            idempotency_key="w",
            kind="test.x",
            lines=[debit(cash(), Decimal("1"), "CNY"), credit(wallet, Decimal("1"), "CNY")],
        )


def test_reversing_a_wallet_transaction_needs_the_wallet_effect():
    """The ledger knows no wallet code: reversing a wallet transaction without the wallets' effect (as
    billing.wallets.reversals.wallet_transaction_reverse passes it) is refused, nothing written."""
    from tests.billing.factories import topup
    from tests.factories import CustomerFactory

    paid = topup(CustomerFactory(), "10", "t1")
    with pytest.raises(LedgerError, match=r"billing\.wallets"):
        transaction_reverse(original=paid, idempotency_key="rev-t1", memo="refund")
    assert not JournalEntry.objects.filter(transaction__reverses=paid).exists()
