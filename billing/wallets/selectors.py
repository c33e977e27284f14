"""Reads for wallets: balances by bucket, history with running balance, suspension status."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Customer
from billing.ledger.accounts import account_code
from billing.ledger.models import AccountKind, JournalEntry, LedgerAccount
from billing.wallets.models import BalanceSuspension, Bucket, Wallet, WalletLot

BUCKET_KINDS = {
    Bucket.PAID: AccountKind.WALLET_PAID,
    Bucket.GRANTED: AccountKind.WALLET_GRANTED,
    Bucket.PACK: AccountKind.WALLET_PACK,
}


@dataclass(frozen=True)
class WalletBalance:
    """A wallet's balance by bucket, customer-side (credit positive), full precision, in ``currency``."""

    currency: str
    paid: Decimal
    granted: Decimal
    pack: Decimal
    expired_pending: Decimal
    floor: Decimal

    @property
    def total(self) -> Decimal:
        """What the ledger holds for the customer, including expired credit awaiting breakage."""
        return self.paid + self.granted + self.pack

    @property
    def available(self) -> Decimal:
        """What debits may spend: the total less expired credit that has not gone to breakage yet."""
        return self.total - self.expired_pending

    @property
    def headroom(self) -> Decimal:
        """How much more may be debited before the floor."""
        return self.available - self.floor


def wallet_accounts(*, customer: Customer, currency: str) -> dict[str, LedgerAccount | None]:
    """Return the existing deposit accounts of a wallet by bucket (None where never used)."""
    codes = {
        bucket: account_code(kind=kind, currency=currency, customer=customer)
        for bucket, kind in BUCKET_KINDS.items()
    }
    found = {a.code: a for a in LedgerAccount.objects.filter(code__in=codes.values())}
    return {bucket: found.get(code) for bucket, code in codes.items()}


def wallet_balance(*, wallet: Wallet, now: datetime | None = None) -> WalletBalance:
    """Return ``wallet``'s balance, read from the cached account balances and open lots."""
    now = now or timezone.now()
    accounts = wallet_accounts(customer=wallet.customer, currency=wallet.currency)

    def held(bucket: str) -> Decimal:
        account = accounts[bucket]
        return -account.balance if account is not None else Decimal("0")

    expired = WalletLot.objects.filter(wallet=wallet, expires_at__lte=now, remaining__gt=0).aggregate(
        total=Sum("remaining")
    )["total"] or Decimal("0")
    return WalletBalance(
        currency=wallet.currency,
        paid=held(Bucket.PAID),
        granted=held(Bucket.GRANTED),
        pack=held(Bucket.PACK),
        expired_pending=expired,
        floor=wallet.floor,
    )


def wallets_for_customer(*, customer: Customer) -> QuerySet[Wallet]:
    return Wallet.objects.filter(customer=customer).order_by("currency")


def wallet_lots_open(*, wallet: Wallet) -> QuerySet[WalletLot]:
    return WalletLot.objects.filter(wallet=wallet, remaining__gt=0).order_by("expires_at", "id")


def wallet_history(*, wallet: Wallet) -> list[dict]:
    """Return the wallet's movements, newest first, each with the wallet's running balance after it.

    One row per journal transaction touching the wallet's accounts; the running balance is the sum over
    buckets, customer-side (credit positive).
    """
    accounts = [a for a in wallet_accounts(customer=wallet.customer, currency=wallet.currency).values() if a]
    entries = (
        JournalEntry.objects.filter(account__in=accounts)
        .select_related("transaction", "account")
        .order_by("transaction_id", "id")
    )
    rows: dict[int, dict] = {}
    running = Decimal("0")
    for entry in entries:
        running -= entry.amount
        row = rows.setdefault(
            entry.transaction_id,
            {
                "transaction": entry.transaction,
                "amount": Decimal("0"),
                "buckets": {},
                "balance": Decimal("0"),
            },
        )
        row["amount"] -= entry.amount
        bucket = entry.account.kind.removeprefix("wallet_")
        row["buckets"][bucket] = row["buckets"].get(bucket, Decimal("0")) - entry.amount
        row["balance"] = running
    return list(reversed(rows.values()))


def customer_suspended_for_balance(*, customer: Customer) -> bool:
    """Return whether any of ``customer``'s wallets has an open balance suspension."""
    return BalanceSuspension.objects.filter(customer=customer, ended_at__isnull=True).exists()


def suspensions_open() -> QuerySet[BalanceSuspension]:
    """Open balance suspensions, for the gateway-status endpoint."""
    return BalanceSuspension.objects.filter(ended_at__isnull=True).select_related("customer", "wallet")


def wallets_visible(customers: QuerySet[Customer]) -> QuerySet[Wallet]:
    return Wallet.objects.filter(Q(customer__in=customers)).select_related("customer")
