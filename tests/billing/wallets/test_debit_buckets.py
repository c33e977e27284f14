"""wallet_debit(buckets=...): restricting the burn-down to some buckets (a refund takes paid credit only)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.ledger.exceptions import IdempotencyConflictError
from billing.ledger.models import JournalEntry, JournalTransaction
from billing.wallets.exceptions import WalletError, WalletFloorError
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.models import WalletLot, WalletLotUse
from billing.wallets.reversals import wallet_transaction_reverse
from billing.wallets.selectors import customer_suspended_for_balance, wallet_balance
from tests.billing.factories import available, grant, spend, topup
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _buckets(customer) -> tuple[Decimal, Decimal, Decimal]:
    b = wallet_balance(wallet=wallet_get_or_create(customer=customer, currency="CNY"))
    return b.paid, b.granted, b.pack


def _taken(txn) -> dict[str, Decimal]:
    return {
        e.account.kind: e.amount
        for e in JournalEntry.objects.filter(transaction=txn).select_related("account")
    }


@pytest.fixture
def mixed():
    """100 paid, a 30 grant expiring soon and a 20 pack: a plain burn-down would take the lots first."""
    customer = CustomerFactory()
    topup(customer, "100", "t1")
    grant(customer, "30", "g1", expires_at=timezone.now() + timedelta(days=3))
    grant(customer, "20", "p1", bucket="pack")
    return customer


def test_paid_only_debit_leaves_granted_and_pack_lots_untouched(mixed):
    txn = spend(mixed, "40", "s1", buckets=["paid"])

    assert _taken(txn) == {"wallet_paid": Decimal("40"), "revenue_usage": Decimal("-40")}
    assert _buckets(mixed) == (Decimal("60"), Decimal("30"), Decimal("20"))
    assert sorted(WalletLot.objects.values_list("remaining", flat=True)) == [Decimal("20"), Decimal("30")]
    assert not WalletLotUse.objects.filter(transaction=txn).exists()


def test_paid_only_debit_below_the_floor_is_refused_unless_allowed(mixed):
    # 150 available in all; 200 would leave -50, below the zero floor
    with pytest.raises(WalletFloorError, match="Insufficient balance"):
        spend(mixed, "200", "s1", buckets=["paid"])
    assert not JournalTransaction.objects.filter(idempotency_key="s1").exists()
    assert _buckets(mixed) == (Decimal("100"), Decimal("30"), Decimal("20"))

    txn = spend(mixed, "200", "s2", buckets=["paid"], allow_below_floor=True)

    # the shortfall goes to paid credit, which goes negative; the lots still hold all of theirs
    assert _taken(txn) == {"wallet_paid": Decimal("200"), "revenue_usage": Decimal("-200")}
    assert _buckets(mixed) == (Decimal("-100"), Decimal("30"), Decimal("20"))
    assert available(mixed) == Decimal("-50")
    assert customer_suspended_for_balance(customer=mixed)


def test_paid_only_debit_within_the_floor_may_take_paid_negative(mixed):
    # the floor guards the available balance, as for any debit: 150 - 120 = 30 ≥ 0
    spend(mixed, "120", "s1", buckets=("paid",))
    assert _buckets(mixed) == (Decimal("-20"), Decimal("30"), Decimal("20"))
    assert not customer_suspended_for_balance(customer=mixed)


def test_lot_only_debits_skip_paid_and_refuse_a_shortfall(mixed):
    txn = spend(mixed, "40", "s1", buckets=["pack", "granted"])
    assert _taken(txn) == {
        "wallet_granted": Decimal("30"),
        "wallet_pack": Decimal("10"),
        "revenue_usage": Decimal("-40"),
    }
    with pytest.raises(WalletError, match="The granted and pack buckets hold less than 11"):
        spend(mixed, "11", "s2", buckets=["granted", "pack"])
    with pytest.raises(WalletError, match="The pack bucket holds less than 11"):
        spend(mixed, "11", "s3", buckets=["pack"])
    assert _buckets(mixed) == (Decimal("100"), Decimal("0"), Decimal("10"))


@pytest.mark.parametrize(
    "buckets, message",
    [
        ("paid", "sequence of bucket names"),
        ([], "at least one bucket"),
        (["paid", "cash"], "Unknown wallet bucket"),
        (42, "sequence of bucket names"),
    ],
)
def test_bad_buckets_are_refused_with_nothing_written(mixed, buckets, message):
    with pytest.raises(WalletError, match=message):
        spend(mixed, "1", "s1", buckets=buckets)
    assert not JournalTransaction.objects.filter(idempotency_key="s1").exists()


def test_buckets_are_part_of_the_request_for_idempotency(mixed):
    first = spend(mixed, "10", "s1", buckets=["paid"])
    # the same restriction however it is spelled is the same request
    assert spend(mixed, "10", "s1", buckets=("paid", "paid")) == first
    with pytest.raises(IdempotencyConflictError):
        spend(mixed, "10", "s1")
    # all three buckets is no restriction: the same request as none given
    plain = spend(mixed, "5", "s2")
    assert spend(mixed, "5", "s2", buckets=["pack", "paid", "granted"]) == plain


def test_reversing_a_paid_only_debit_gives_back_paid_credit(mixed):
    txn = spend(mixed, "40", "s1", buckets=["paid"])
    wallet_transaction_reverse(original=txn, idempotency_key="rev-s1", memo="undo")
    assert _buckets(mixed) == (Decimal("100"), Decimal("30"), Decimal("20"))
