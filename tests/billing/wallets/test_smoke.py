from decimal import Decimal

import pytest

from billing.wallets.exceptions import WalletFloorError
from billing.wallets.selectors import wallet_balance
from billing.wallets.services import wallet_credit, wallet_debit, wallet_get_or_create
from tests.billing.factories import cash, revenue
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_credit_then_debit_then_floor():
    customer = CustomerFactory()
    wallet_credit(
        customer=customer,
        currency="CNY",
        amount=Decimal("100"),
        bucket="paid",
        idempotency_key="c1",
        source_account=cash(),
        kind="wallet.topup.bank",
        memo="top-up",
    )
    wallet_debit(
        customer=customer,
        currency="CNY",
        amount=Decimal("30"),
        idempotency_key="d1",
        target_account=revenue(),
        kind="usage.prepaid",
        memo="usage",
    )
    with pytest.raises(WalletFloorError):
        wallet_debit(
            customer=customer,
            currency="CNY",
            amount=Decimal("70.01"),
            idempotency_key="d2",
            target_account=revenue(),
            kind="usage.prepaid",
            memo="usage",
        )
    wallet = wallet_get_or_create(customer=customer, currency="CNY")
    assert wallet_balance(wallet=wallet).available == Decimal("70")
