from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.ledger.exceptions import IdempotencyConflictError, LedgerError
from billing.ledger.models import JournalEntry
from billing.wallets.exceptions import WalletError, WalletFloorError
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.models import WalletLot
from billing.wallets.reversals import wallet_transaction_reverse
from billing.wallets.selectors import customer_suspended_for_balance, wallet_history
from tests.billing.factories import available, grant, spend, topup
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _taken(txn) -> dict[str, Decimal]:
    return {
        e.account.kind: e.amount
        for e in JournalEntry.objects.filter(transaction=txn).select_related("account")
    }


def test_earliest_expiry_first_granted_before_pack_when_equal_then_paid():
    # given paid credit, a never-expiring grant and three dated lots
    customer = CustomerFactory()
    soon, later = timezone.now() + timedelta(days=5), timezone.now() + timedelta(days=30)
    topup(customer, "100", "paid")
    grant(customer, "10", "g-forever")
    pack_later = grant(customer, "20", "p-later", bucket="pack", expires_at=later)
    grant_later = grant(customer, "20", "g-later", expires_at=later)
    grant_soon = grant(customer, "5", "g-soon", expires_at=soon)
    lot = {t.pk: WalletLot.objects.get(credited_by=t) for t in (pack_later, grant_later, grant_soon)}
    # when 30 is spent: 5 (grant, soonest) + 20 (grant, later) + 5 of the pack expiring at the same time
    spend(customer, "30", "s1")
    assert WalletLot.objects.get(pk=lot[grant_soon.pk].pk).remaining == 0
    assert WalletLot.objects.get(pk=lot[grant_later.pk].pk).remaining == 0
    assert WalletLot.objects.get(pk=lot[pack_later.pk].pk).remaining == Decimal("15")
    # then the never-expiring grant, and paid credit last
    txn = spend(customer, "40", "s2")
    assert _taken(txn) == {
        "wallet_pack": Decimal("15"),
        "wallet_granted": Decimal("10"),
        "wallet_paid": Decimal("15"),
        "revenue_usage": Decimal("-40"),
    }
    assert available(customer) == Decimal("85")


def test_expired_lots_are_not_spent():
    customer = CustomerFactory()
    topup(customer, "10", "paid")
    grant(customer, "50", "g-old", expires_at=timezone.now() + timedelta(seconds=1))
    lot = WalletLot.objects.get()
    WalletLot.objects.filter(pk=lot.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert available(customer) == Decimal("10")
    with pytest.raises(WalletFloorError):
        spend(customer, "11", "s1")


def test_floor_refuses_and_allowed_negative_floor_lets_through():
    customer = CustomerFactory()
    topup(customer, "10", "paid")
    with pytest.raises(WalletFloorError, match="Insufficient balance"):
        spend(customer, "10.000000000001", "s1")
    wallet = wallet_get_or_create(customer=customer, currency="CNY")
    wallet.floor = Decimal("-50")
    wallet.save()
    spend(customer, "55", "s2")
    assert available(customer) == Decimal("-45")
    with pytest.raises(WalletFloorError):
        spend(customer, "5.01", "s3")


def test_wallet_idempotency_same_request_returns_first_and_other_request_errors():
    customer = CustomerFactory()
    first = topup(customer, "10", "t1")
    assert topup(customer, "10", "t1").pk == first.pk
    with pytest.raises(IdempotencyConflictError):
        topup(customer, "11", "t1")
    debit = spend(customer, "4", "d1")
    assert spend(customer, "4", "d1").pk == debit.pk
    assert available(customer) == Decimal("6")


def test_bad_wallet_input_is_refused_with_nothing_written():
    customer = CustomerFactory()
    with pytest.raises(WalletError):
        topup(customer, "-1", "neg")
    with pytest.raises(WalletError):
        grant(customer, "5", "paid-exp", bucket="paid", expires_at=timezone.now() + timedelta(days=1))
    with pytest.raises(LedgerError):
        topup(customer, "0.0000000000001", "too-precise")
    assert not JournalEntry.objects.exists()


def test_reversing_a_debit_gives_lots_back_and_a_used_grant_cannot_be_reversed():
    customer = CustomerFactory()
    grant_txn = grant(customer, "10", "g1", expires_at=timezone.now() + timedelta(days=3))
    topup(customer, "10", "t1")
    debit = spend(customer, "12", "d1")
    with pytest.raises(WalletError, match="cannot be reversed"):
        wallet_transaction_reverse(original=grant_txn, idempotency_key="r-grant", memo="take back")
    wallet_transaction_reverse(original=debit, idempotency_key="r1", memo="usage re-rated")
    assert WalletLot.objects.get().remaining == Decimal("10")
    assert available(customer) == Decimal("20")
    # now intact again, the grant can be reversed
    wallet_transaction_reverse(original=grant_txn, idempotency_key="r-grant-2", memo="take back")
    assert available(customer) == Decimal("10")


def test_refunding_a_spent_top_up_goes_below_the_floor_and_suspends():
    customer = CustomerFactory()
    paid = topup(customer, "100", "t1")
    spend(customer, "30", "d1")
    wallet_transaction_reverse(original=paid, idempotency_key="refund", memo="card refund")
    assert available(customer) == Decimal("-30")
    assert customer_suspended_for_balance(customer=customer)


def test_history_has_a_running_balance_newest_first():
    customer = CustomerFactory()
    topup(customer, "100", "t1")
    spend(customer, "30", "d1")
    grant(customer, "5", "g1")
    rows = wallet_history(wallet=wallet_get_or_create(customer=customer, currency="CNY"))
    assert [(r["amount"], r["balance"]) for r in rows] == [
        (Decimal("5"), Decimal("75")),
        (Decimal("-30"), Decimal("70")),
        (Decimal("100"), Decimal("100")),
    ]
