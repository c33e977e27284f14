"""Giving back credit that debits took: to the lots they drew and to paid credit, never past what a lot
used, never into a lot breakage has closed, idempotent like every wallet write."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.ledger.exceptions import IdempotencyConflictError
from billing.wallets.credits import wallet_credit_back
from billing.wallets.exceptions import WalletError
from billing.wallets.expiry import wallet_lots_expire_due
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.models import WalletLot, WalletLotUse
from billing.wallets.selectors import wallet_balance
from billing.wallets.verify import books_problems
from tests.billing.factories import grant, revenue, spend, topup
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _back(customer, gives, key="back-1"):
    return wallet_credit_back(
        customer=customer,
        currency="CNY",
        gives=gives,
        idempotency_key=key,
        source_account=revenue(),
        kind="usage.prepaid",
        memo="usage re-rated",
    )


def test_gives_back_to_the_lot_and_to_paid_in_one_transaction():
    customer = CustomerFactory()
    topup(customer, "100", "bank")
    lot = grant(customer, "10", "g", expires_at=timezone.now() + timedelta(days=5)).wallet_lot
    spend(customer, "40", "use")  # the grant's 10, then 30 of paid credit

    txn = _back(customer, [(lot, Decimal(6)), (None, Decimal(20))])

    lot.refresh_from_db()
    balance = wallet_balance(wallet=wallet_get_or_create(customer=customer, currency="CNY"))
    assert (lot.remaining, balance.granted, balance.paid) == (Decimal(6), Decimal(6), Decimal(90))
    assert WalletLotUse.objects.get(transaction=txn).amount == Decimal(-6)
    assert sorted(e.amount for e in txn.entries.all()) == [Decimal(-20), Decimal(-6), Decimal(26)]
    assert _back(customer, [(lot, Decimal(6)), (None, Decimal(20))]) == txn  # replayed: the first
    with pytest.raises(IdempotencyConflictError):
        _back(customer, [(lot, Decimal(5))])
    assert books_problems() == []


def test_refuses_more_than_a_lot_used_a_closed_lot_and_another_wallets_lot():
    customer, other = CustomerFactory(), CustomerFactory()
    now = timezone.now()
    lot = grant(customer, "10", "g", expires_at=now + timedelta(days=5)).wallet_lot
    spend(customer, "4", "use")
    with pytest.raises(WalletError, match="used less than"):
        _back(customer, [(lot, Decimal(5))])
    with pytest.raises(WalletError, match="not in this wallet"):
        _back(other, [(lot, Decimal(1))])
    with pytest.raises(WalletError, match="Nothing to give back"):
        _back(customer, [])

    gone = grant(customer, "10", "g-gone", expires_at=now - timedelta(seconds=1)).wallet_lot
    wallet_lots_expire_due()
    with pytest.raises(WalletError, match="is closed"):
        _back(customer, [(WalletLot.objects.get(pk=gone.pk), Decimal(1))])
    assert not WalletLotUse.objects.filter(amount__lt=0).exists()  # nothing written
    assert books_problems() == []
