"""Reads for wallets: balances by bucket, history with running balance, suspension status."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Customer
from billing.ledger.accounts import account_code
from billing.ledger.models import AccountKind, JournalEntry, LedgerAccount
from billing.wallets.models import BalanceSuspension, Bucket, Wallet, WalletLot

BUCKET_KINDS = {
    Bucket.PAID: AccountKind.WALLET_PAID,
    Bucket.GRANTED: AccountKind.WALLET_GRANTED,
    Bucket.PACK: AccountKind.WALLET_PACK,
}

# Bucket codes as words inside a sentence ("The granted bucket holds less than 10.").
BUCKET_SHORT_NAMES = {
    Bucket.PAID: pgettext_lazy("wallet bucket in a sentence", "paid"),
    Bucket.GRANTED: pgettext_lazy("wallet bucket in a sentence", "granted"),
    Bucket.PACK: pgettext_lazy("wallet bucket in a sentence", "pack"),
}

# What the wallet history shows for a journal transaction's dotted kind; unknown kinds show as they are.
TRANSACTION_KIND_LABELS = {
    "wallet.topup.bank": _("Bank transfer top-up"),
    "wallet.topup.card": _("Card top-up"),
    "wallet.topup.card_fee": _("Card processing fee"),
    "wallet.topup.card_refund": _("Card refund"),
    "wallet.topup.card_dispute": _("Card dispute"),
    "wallet.topup.card_dispute_won": _("Card dispute won"),
    "wallet.topup.code": _("Redemption code top-up"),
    "wallet.grant": _("Credit granted"),
    "wallet.pack": _("Pack purchase"),
    "wallet.breakage": _("Expired credit"),
    "wallet.adjustment": _("Manual adjustment"),
    "reversal": pgettext_lazy("transaction kind", "Reversal"),
}
TRANSACTION_KIND_PREFIX_LABELS = (
    ("wallet.topup.", _("Top-up")),
    ("usage.", _("API usage")),
)


def transaction_kind_label(kind: str) -> str:
    """A human, translated name for a journal transaction's dotted ``kind``; the kind itself if unknown."""
    label = TRANSACTION_KIND_LABELS.get(kind)
    if label is None:
        matches = (text for prefix, text in TRANSACTION_KIND_PREFIX_LABELS if kind.startswith(prefix))
        label = next(matches, kind)
    return str(label)


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
    return wallet_balances(wallets=[wallet], now=now)[wallet.pk]


def wallet_balances(*, wallets: Sequence[Wallet], now: datetime | None = None) -> dict[int, WalletBalance]:
    """Return the balance of each of ``wallets`` by wallet id: two queries however many wallets."""
    now = now or timezone.now()
    codes = {
        account_code(kind=kind, currency=w.currency, customer=w.customer): (w.pk, bucket)
        for w in wallets
        for bucket, kind in BUCKET_KINDS.items()
    }
    # Deposit accounts are liabilities (credit balances): what the customer holds is the negation.
    held = {
        codes[code]: -balance
        for code, balance in LedgerAccount.objects.filter(code__in=codes).values_list("code", "balance")
    }
    expired = dict(
        WalletLot.objects.filter(wallet__in=list(wallets), expires_at__lte=now, remaining__gt=0)
        .values("wallet_id")
        .annotate(total=Sum("remaining"))
        .values_list("wallet_id", "total")
    )
    zero = Decimal("0")
    return {
        w.pk: WalletBalance(
            currency=w.currency,
            paid=held.get((w.pk, Bucket.PAID), zero),
            granted=held.get((w.pk, Bucket.GRANTED), zero),
            pack=held.get((w.pk, Bucket.PACK), zero),
            expired_pending=expired.get(w.pk, zero),
            floor=w.floor,
        )
        for w in wallets
    }


def wallets_for_customer(*, customer: Customer) -> QuerySet[Wallet]:
    return Wallet.objects.filter(customer=customer).order_by("currency")


def wallet_lots_open(*, wallet: Wallet) -> QuerySet[WalletLot]:
    return WalletLot.objects.filter(wallet=wallet, remaining__gt=0).order_by("expires_at", "id")


def wallet_history(*, wallet: Wallet) -> list[dict]:
    """Return the wallet's movements, newest first, each with the wallet's running balance after it.

    One row per journal transaction touching the wallet's accounts; the running balance is the sum over
    buckets, customer-side (credit positive). ``kind_label`` and ``bucket_lines`` (label, amount) are
    translated for display.
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
                "kind_label": transaction_kind_label(entry.transaction.kind),
                "amount": Decimal("0"),
                "buckets": {},
                "balance": Decimal("0"),
            },
        )
        row["amount"] -= entry.amount
        bucket = entry.account.kind.removeprefix("wallet_")
        row["buckets"][bucket] = row["buckets"].get(bucket, Decimal("0")) - entry.amount
        row["balance"] = running
    for row in rows.values():
        row["bucket_lines"] = [(Bucket(code).label, amount) for code, amount in row["buckets"].items()]
    return list(reversed(rows.values()))


def customer_suspended_for_balance(*, customer: Customer) -> bool:
    """Return whether any of ``customer``'s wallets has an open balance suspension."""
    return BalanceSuspension.objects.filter(customer=customer, ended_at__isnull=True).exists()


def wallets_visible(customers: QuerySet[Customer]) -> QuerySet[Wallet]:
    return Wallet.objects.filter(Q(customer__in=customers)).select_related("customer")
