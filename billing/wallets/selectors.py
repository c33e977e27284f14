"""Reads for wallets: balances by bucket, history with running balance, suspension status, the hard
limit's reserve and the floor overshoots it reports."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from accounts.models import Customer
from billing.ledger.accounts import account_code
from billing.ledger.kinds import transaction_kind_label
from billing.ledger.models import AccountKind, JournalEntry, LedgerAccount
from billing.money import ledger_round
from billing.wallets.models import BalanceSuspension, Bucket, FloorOvershoot, LimitMode, Wallet, WalletLot
from common.stored_text import stored_render

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
    buckets, customer-side (credit positive). ``kind_label``, ``memo`` (the stored message, else the memo as
    written) and ``bucket_lines`` (label, amount) are in the active language.
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
                "memo": stored_render(entry.transaction.memo_message, entry.transaction.memo),
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


def balance_suspension_open(*, customer: Customer) -> BalanceSuspension | None:
    """Return ``customer``'s open balance suspension (of any of its wallets), or None."""
    return BalanceSuspension.objects.filter(customer=customer, ended_at__isnull=True).first()


# The hard limit's spend rate is read over this trailing window; WALLET_RESERVE_MINUTES (or a wallet's
# own reserve_minutes) of spend at that rate is held back.
SPEND_WINDOW = timedelta(hours=1)


def reserve_minutes_default() -> int:
    """The reserve horizon of a wallet without its own: ``settings.WALLET_RESERVE_MINUTES``."""
    return settings.WALLET_RESERVE_MINUTES


def reserve_minutes(*, wallet: Wallet) -> int:
    """The wallet's reserve horizon in minutes: its own, else the default."""
    if wallet.reserve_minutes is not None:
        return wallet.reserve_minutes
    return reserve_minutes_default()


def wallet_recent_spend(*, wallet: Wallet, now: datetime | None = None) -> Decimal:
    """Metered usage charged to ``wallet`` over the trailing ``SPEND_WINDOW``, wallet currency (≥ 0).

    Read from the wallet's own journal (``usage.*`` transactions posted in the window) rather than the
    hourly usage rollups: those sit above wallets, are keyed by when usage happened rather than when it
    was charged, and mix currencies; the journal is what moved this balance, in its currency.
    """
    since = (now or timezone.now()) - SPEND_WINDOW
    accounts = [a for a in wallet_accounts(customer=wallet.customer, currency=wallet.currency).values() if a]
    spent = JournalEntry.objects.filter(
        account__in=accounts, transaction__kind__startswith="usage.", transaction__posted_at__gt=since
    ).aggregate(total=Sum("amount"))["total"]
    # Deposit accounts are credit-normal: a charge is a debit (positive); a re-rate refund offsets it.
    return max(spent or Decimal("0"), Decimal("0"))


def wallet_reserve(*, wallet: Wallet, now: datetime | None = None) -> Decimal:
    """What a hard limit holds back above the floor, wallet currency, full precision; 0 under a soft one.

    reserve = usage spend over the trailing hour × reserve minutes ÷ 60: the balance the customer would
    spend in the next ``reserve_minutes`` at its recent rate, so service stops before the floor while
    requests already under way still land above it.
    """
    if wallet.limit_mode != LimitMode.HARD:
        return Decimal("0")
    window_minutes = int(SPEND_WINDOW.total_seconds()) // 60
    spent = wallet_recent_spend(wallet=wallet, now=now)
    return ledger_round(spent * reserve_minutes(wallet=wallet) / window_minutes)


def floor_overshoots(customers: QuerySet[Customer]) -> QuerySet[FloorOvershoot]:
    """Crossings of hard-limit floors by ``customers``' wallets, newest first, with ``excess_amount``."""
    return (
        FloorOvershoot.objects.filter(customer__in=customers)
        .select_related("customer", "wallet")
        .annotate(excess_amount=F("floor") - F("lowest_balance"))
    )


def wallets_visible(customers: QuerySet[Customer]) -> QuerySet[Wallet]:
    return Wallet.objects.filter(Q(customer__in=customers)).select_related("customer")
