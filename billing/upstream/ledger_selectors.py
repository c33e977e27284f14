"""Reads of the upstream ledger pages: the channel list with totals, packs in burn order, invoice status,
late usage matched against invoiced months."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Case, CharField, DecimalField, F, Q, Value, When
from django.utils.translation import gettext_lazy as _

from billing.fx.rates import BaseRates
from billing.ledger.models import AccountKind, JournalEntry
from billing.upstream.bills import TRUE_UP_KIND
from billing.upstream.burn import burn_order
from billing.upstream.cover import Cover, cover_for_channels
from billing.upstream.ledger_accounts import channel_account
from billing.upstream.models import UpstreamPack, VendorBill
from catalog.models import Channel

K = AccountKind
ZERO = Decimal(0)

# Sort keys of the ledger list (``?o=``, ``-`` for descending) → how a row's Cover sorts.
LEDGER_SORTS = {
    "channel": lambda c: c.channel.name.lower(),
    "vendor": lambda c: c.channel.contract.vendor.name.lower(),
    "currency": lambda c: c.currency,
    "balance": lambda c: c.balance,
    "burn": lambda c: c.burn_rate,
    "days": lambda c: c.days,
    "accrued": lambda c: c.accrued,
    "payables": lambda c: c.payables,
}

BILL_STATUSES = [
    ("open", _("Open")),
    ("overdue", _("Overdue")),
    ("paid", _("Paid")),
    ("statement", _("Statement (prepaid, nothing owed)")),
    ("void", _("Void")),
]


def ledger_covers(channels, *, sort: str = "channel", low_only: bool = False, today: date) -> list[Cover]:
    """Every channel's cover, sorted by ``sort`` (a LEDGER_SORTS key, ``-`` first for descending)."""
    covers = list(cover_for_channels(channels, today=today).values())
    if low_only:
        covers = [c for c in covers if c.low]
    key = LEDGER_SORTS.get(sort.lstrip("-"), LEDGER_SORTS["channel"])
    # A channel with no figure (nothing burns: no days of cover) comes last whichever way the list sorts.
    known = sorted((c for c in covers if key(c) is not None), key=key, reverse=sort.startswith("-"))
    return known + [c for c in covers if key(c) is None]


@dataclass(frozen=True)
class BaseTotals:
    """The list's totals in the base currency at today's rates; ``missing``: currencies without a rate."""

    currency: str
    balance: Decimal
    accrued: Decimal
    payables: Decimal
    missing: tuple[str, ...]


def base_totals(covers: list[Cover], *, today: date) -> BaseTotals:
    rates = BaseRates()
    balance = accrued = payables = ZERO
    missing = set()
    for cover in covers:
        rate = rates.rate(cover.currency, today)
        if rate is None:
            missing.add(cover.currency)
            continue
        balance += cover.balance * rate if cover.prepaid else ZERO
        accrued += cover.accrued * rate
        payables += cover.payables * rate
    return BaseTotals(rates.base, balance, accrued, payables, tuple(sorted(missing)))


def bills_with_status(queryset, *, today: date):
    """``queryset`` of vendor invoices annotated with ``status`` (a BILL_STATUSES key) and ``left``."""
    return queryset.annotate(
        status=Case(
            When(state=VendorBill.State.VOID, then=Value("void")),
            When(state=VendorBill.State.PAID, then=Value("paid")),
            When(transaction__isnull=True, then=Value("statement")),
            When(due_on__lt=today, then=Value("overdue")),
            default=Value("open"),
            output_field=CharField(),
        ),
        left=Case(
            When(
                Q(state=VendorBill.State.OPEN) & Q(transaction__isnull=False),
                then=F("amount") - F("paid_amount"),
            ),
            default=Value(ZERO),
            output_field=DecimalField(max_digits=21, decimal_places=3),
        ),
    )


@dataclass(frozen=True)
class PackRow:
    pack: UpstreamPack
    order: int  # position in the burn order (1 first); 0 when it no longer draws
    remaining: Decimal | int  # credit at contract cost, or tokens for a token pack
    state: str


def pack_rows(channel, *, now) -> list[PackRow]:
    """``channel``'s packs in burn order with what each has left and whether it still draws."""
    packs = list(UpstreamPack.objects.filter(channel=channel).select_related("model"))
    rows, position = [], 0
    for pack in burn_order(packs):
        if pack.kind == UpstreamPack.Kind.TOKENS:
            remaining = max(pack.tokens - pack.used_tokens, 0)
        else:
            remaining = max(pack.credit - pack.used_credit, ZERO)
        if pack.expires_at is not None and pack.expires_at <= now:
            state = "expired"
        elif pack.starts_at > now:
            state = "upcoming"
        elif not remaining:
            state = "used"
        else:
            state = "active"
        if state in ("active", "upcoming"):
            position += 1
        rows.append(PackRow(pack, position if state in ("active", "upcoming") else 0, remaining, state))
    return rows


@dataclass(frozen=True)
class TrueUp:
    """Usage of an invoiced month that arrived after its invoice, matched against the invoice's variance
    (``invoiced_months``): positive when usage arrived, negative when it was corrected down."""

    posted_on: date
    month: date
    amount: Decimal


def late_usage_true_ups(channel: Channel) -> list[TrueUp]:
    """``channel``'s true-ups of invoiced months, newest first."""
    accrued = channel_account(channel, K.UPSTREAM_ACCRUED)
    rows = (
        JournalEntry.objects.filter(
            account=accrued,
            transaction__kind=TRUE_UP_KIND,
            transaction__source__startswith=f"upstream.bill:{channel.pk}:",
        )
        .values_list("transaction__effective_date", "transaction__source", "amount")
        .order_by("-transaction__effective_date", "-transaction_id")
    )
    return [
        TrueUp(posted_on, date.fromisoformat(source.split(":")[2] + "-01"), amount)
        for posted_on, source, amount in rows
    ]
