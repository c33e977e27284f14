"""wallet_debit(extra_lines=...): other balanced lines in the same journal transaction as the debit."""

from decimal import Decimal

import pytest

from billing.ledger.accounts import account_get, wallet_account_get
from billing.ledger.exceptions import IdempotencyConflictError
from billing.ledger.models import AccountKind, JournalTransaction
from billing.ledger.services import credit, debit
from billing.wallets.credits import wallet_credit
from billing.wallets.debits import wallet_debit
from billing.wallets.exceptions import WalletError
from billing.wallets.models import Wallet, WalletLot
from billing.wallets.selectors import wallet_balance
from catalog.models import Vendor
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _fund(customer, amount, bucket="paid", key="fund"):
    return wallet_credit(
        customer=customer,
        currency="CNY",
        amount=amount,
        bucket=bucket,
        idempotency_key=key,
        source_account=account_get(kind=AccountKind.CASH_BANK, currency="CNY"),
        kind="wallet.topup.bank",
        memo="fund",
    )


def _cost_lines(amount):
    vendor, _created = Vendor.objects.get_or_create(name="V", slug="v")
    cost = account_get(kind=AccountKind.COST_OF_TOKENS, currency="CNY", vendor=vendor)
    upstream = account_get(kind=AccountKind.UPSTREAM_PREPAID, currency="CNY", vendor=vendor)
    return [debit(cost, amount, "CNY"), credit(upstream, amount, "CNY")]


def _debit(customer, amount, extra, key="d1", **kwargs):
    return wallet_debit(
        customer=customer,
        currency="CNY",
        amount=amount,
        idempotency_key=key,
        target_account=account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY"),
        kind="usage.prepaid",
        memo="usage",
        extra_lines=extra,
        **kwargs,
    )


def test_extra_lines_post_in_the_same_transaction_once():
    customer = CustomerFactory()
    _fund(customer, Decimal("10"))
    _fund(customer, Decimal("1"), bucket="granted", key="grant")

    txn = _debit(customer, Decimal("3"), _cost_lines(Decimal("1.5")))
    again = _debit(customer, Decimal("3"), _cost_lines(Decimal("1.5")))

    assert again.pk == txn.pk
    assert JournalTransaction.objects.filter(kind="usage.prepaid").count() == 1
    kinds = sorted(e.account.kind for e in txn.entries.select_related("account"))
    assert kinds == sorted(
        [
            AccountKind.WALLET_GRANTED,
            AccountKind.WALLET_PAID,
            AccountKind.REVENUE_USAGE,
            AccountKind.COST_OF_TOKENS,
            AccountKind.UPSTREAM_PREPAID,
        ]
    )
    # Lots still burn first (the granted 1 before paid), and the balance moved by the debit only.
    assert WalletLot.objects.get(bucket="granted").remaining == 0
    wallet = Wallet.objects.get(customer=customer)
    assert wallet_balance(wallet=wallet).available == Decimal("8")
    cost = txn.entries.get(account__kind=AccountKind.COST_OF_TOKENS)
    assert cost.amount == Decimal("1.5") and cost.account.balance == Decimal("1.5")


def test_same_key_with_different_extra_lines_is_a_conflict():
    customer = CustomerFactory()
    _fund(customer, Decimal("10"))
    _debit(customer, Decimal("3"), _cost_lines(Decimal("1.5")))

    with pytest.raises(IdempotencyConflictError):
        _debit(customer, Decimal("3"), _cost_lines(Decimal("2")))


def test_floor_still_holds_with_extra_lines():
    customer = CustomerFactory()
    _fund(customer, Decimal("1"))

    with pytest.raises(WalletError):
        _debit(customer, Decimal("3"), _cost_lines(Decimal("1")))

    assert not JournalTransaction.objects.filter(kind="usage.prepaid").exists()
    # Usage that already happened may go below the floor; the wallet is then suspended.
    _debit(customer, Decimal("3"), _cost_lines(Decimal("1")), allow_below_floor=True)
    wallet = Wallet.objects.get(customer=customer)
    assert wallet.suspensions.filter(ended_at__isnull=True).exists()


@pytest.mark.parametrize("extra", ["unbalanced", "wallet"])
def test_extra_lines_must_balance_and_stay_off_wallets(extra):
    customer = CustomerFactory()
    _fund(customer, Decimal("10"))
    if extra == "unbalanced":
        lines = _cost_lines(Decimal("1"))[:1]
    else:
        paid = wallet_account_get(customer=customer, currency="CNY", bucket="paid")
        revenue = account_get(kind=AccountKind.REVENUE_USAGE, currency="CNY")
        lines = [debit(paid, Decimal("1"), "CNY"), credit(revenue, Decimal("1"), "CNY")]

    with pytest.raises(WalletError):
        _debit(customer, Decimal("3"), lines)

    assert not JournalTransaction.objects.filter(kind="usage.prepaid").exists()
