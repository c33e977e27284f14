"""Shared set-up for the purchase tests: the demo catalog's plan and pack, funded wallets, a moved clock."""

from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.terms.models import BillingTerms
from billing.terms.services import billing_terms_update
from billing.wallets.credits import wallet_credit
from billing.wallets.models import Wallet
from billing.wallets.selectors import wallet_balance
from catalog.models import AllowanceUnit, Pack, SubscriptionPlan
from tests.factories import CustomerFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    """An instant given in the operator's time zone (Asia/Shanghai in the test settings)."""
    return datetime(*args, tzinfo=SHANGHAI)


@contextmanager
def clock(at: datetime):
    """Every ``timezone.now()`` (services, ledger, auto_now fields) answers ``at``."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def lite_plan() -> SubscriptionPlan:
    """The demo catalog's "Coding plan Lite": 40 CNY a month."""
    return SubscriptionPlan.objects.create(
        name="Coding plan Lite", monthly_fee=Decimal("40"), allowance=Decimal(18_000_000), currency="CNY"
    )


def pro_plan() -> SubscriptionPlan:
    """The demo catalog's "Coding plan Pro": 200 CNY a month."""
    return SubscriptionPlan.objects.create(
        name="Coding plan Pro", monthly_fee=Decimal("200"), allowance=Decimal(120_000_000), currency="CNY"
    )


def deepseek_pack() -> Pack:
    """The demo catalog's "DeepSeek 100M tokens" pack: 180 CNY for 90 days."""
    return Pack.objects.create(
        name="DeepSeek 100M tokens",
        allowance=Decimal(100_000_000),
        price=Decimal("180"),
        currency="CNY",
        validity_days=90,
    )


def credit_pack() -> Pack:
    """The demo catalog's "Credit pack 1,000 CNY": 1,050 CNY of wallet credit for 1,000, a year."""
    return Pack.objects.create(
        name="Credit pack 1,000 CNY",
        unit=AllowanceUnit.CREDIT,
        allowance=Decimal("1050"),
        price=Decimal("1000"),
        currency="CNY",
        validity_days=365,
    )


def customer_on(mode: str, name: str = "Acme Agents"):
    customer = CustomerFactory(name=name)
    BillingTerms.objects.create(customer=customer, mode=mode, currency="CNY")
    return customer


def fund(customer, amount: str, key: str = "") -> None:
    wallet_credit(
        customer=customer,
        currency="CNY",
        amount=Decimal(amount),
        bucket="paid",
        idempotency_key=key or f"fund-{customer.pk}-{amount}",
        source_account=account_get(kind=AccountKind.CASH_BANK, currency="CNY"),
        kind="wallet.topup.bank",
        memo="bank transfer",
    )


def switch(customer, mode: str, at: datetime) -> None:
    with clock(at):
        billing_terms_update(customer=customer, values={"mode": mode})


def paid(customer) -> Decimal:
    wallet = Wallet.objects.filter(customer=customer, currency="CNY").first()
    return wallet_balance(wallet=wallet).paid if wallet else Decimal("0")


def wallet_charged(customer) -> Decimal:
    """What purchases took from the customer's wallet: the subscription revenue of its wallet debits."""
    revenue = account_get(kind=AccountKind.REVENUE_SUBSCRIPTIONS, currency="CNY")
    txns = JournalTransaction.objects.filter(
        kind__in=["wallet.subscription", "wallet.pack"], entries__account__customer=customer
    ).distinct()
    return -sum((e.amount for t in txns for e in t.entries.all() if e.account_id == revenue.pk), Decimal("0"))
