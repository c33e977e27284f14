"""Factories and helpers for ledger and wallet tests."""

from decimal import Decimal

import factory

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.wallets.models import Wallet
from tests.factories import CustomerFactory


class WalletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wallet

    customer = factory.SubFactory(CustomerFactory)
    currency = "CNY"
    floor = Decimal("0")
    low_balance_threshold = None


def cash(currency: str = "CNY"):
    return account_get(kind=AccountKind.CASH_BANK, currency=currency)


def revenue(currency: str = "CNY"):
    return account_get(kind=AccountKind.REVENUE_USAGE, currency=currency)


def promo(currency: str = "CNY"):
    return account_get(kind=AccountKind.PROMOTIONAL_CREDIT, currency=currency)
