"""Factories and helpers for ledger and wallet tests; a customer's money moves in its seller's book."""

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


def cash(currency: str = "CNY", book=None):
    return account_get(kind=AccountKind.CASH_BANK, currency=currency, book=book)


def revenue(currency: str = "CNY", book=None):
    return account_get(kind=AccountKind.REVENUE_USAGE, currency=currency, book=book)


def promo(currency: str = "CNY", book=None):
    return account_get(kind=AccountKind.PROMOTIONAL_CREDIT, currency=currency, book=book)


def staff(role: str):
    """A staff user of ``role`` who has TOTP, so the two-factor middleware lets admin and finance through."""
    from allauth.mfa.totp.internal.auth import TOTP

    from tests.factories import StaffFactory

    user = StaffFactory(staff_role=role)
    TOTP.activate(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    return user


def topup(customer, amount, key, currency: str = "CNY"):
    from billing.wallets.credits import wallet_credit

    return wallet_credit(
        customer=customer,
        currency=currency,
        amount=Decimal(amount),
        bucket="paid",
        idempotency_key=key,
        source_account=cash(currency, customer.seller),
        kind="wallet.topup.bank",
        memo="bank transfer",
    )


def grant(customer, amount, key, *, bucket="granted", expires_at=None, currency: str = "CNY"):
    from billing.wallets.credits import wallet_credit

    return wallet_credit(
        customer=customer,
        currency=currency,
        amount=Decimal(amount),
        bucket=bucket,
        idempotency_key=key,
        source_account=promo(currency, customer.seller),
        kind=f"wallet.{bucket}",
        memo=f"{bucket} credit",
        expires_at=expires_at,
    )


def spend(customer, amount, key, currency: str = "CNY", **kwargs):
    from billing.wallets.debits import wallet_debit

    return wallet_debit(
        customer=customer,
        currency=currency,
        amount=Decimal(amount),
        idempotency_key=key,
        target_account=revenue(currency, customer.seller),
        kind="usage.prepaid",
        memo="usage",
        **kwargs,
    )


def available(customer, currency: str = "CNY") -> Decimal:
    from billing.wallets.locking import wallet_get_or_create
    from billing.wallets.selectors import wallet_balance

    return wallet_balance(wallet=wallet_get_or_create(customer=customer, currency=currency)).available
