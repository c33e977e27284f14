"""How long each channel's upstream prepaid balance lasts: balance, burn rate and days of cover.

* balance — the channel's UPSTREAM_PREPAID account in the ledger (paid in − consumed at contract cost ±
  the burn's value corrections − expired), contract currency;
* burn rate — the trailing 7-day average daily consumption at contract cost (the seven days before today,
  from the rollups; ``consumption``);
* days of cover — balance ÷ burn rate (None, shown "—", when nothing burns); 0 when the balance is gone;
* runs out on — today + days of cover; beyond ``MAX_COVER_DAYS`` (ten years: a large top-up with one test
  request) the pages say "more than 10 years" and gives no date (a date that far is no forecast, and past the
  calendar it cannot be computed at all).

A postpaid channel has no prepaid balance: its accrued cost and payables are shown instead.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.db.models import QuerySet, Sum
from django.utils import timezone

from billing.ledger.accounts import account_code, channel_reference
from billing.ledger.models import AccountKind, JournalEntry, LedgerAccount
from billing.upstream.consumption import cost_by_channel
from catalog.models import Channel, Settlement

K = AccountKind
ZERO = Decimal(0)
TRAILING_DAYS = 7
COVER_PLACES = Decimal("0.1")
MAX_COVER_DAYS = 3650


@dataclass(frozen=True)
class Cover:
    """One channel's figures, in its contract currency (liabilities positive)."""

    channel: Channel
    currency: str
    prepaid: bool
    balance: Decimal
    accrued: Decimal
    payables: Decimal
    burn_rate: Decimal
    days: Decimal | None
    runs_out_on: date | None

    @property
    def low(self) -> bool:
        """Whether the channel's cover is under its alert threshold (``low_cover_days``; 0: never)."""
        threshold = self.channel.low_cover_days
        return bool(self.prepaid and threshold and self.days is not None and self.days < threshold)

    @property
    def beyond(self) -> bool:
        """Whether the balance lasts over ``MAX_COVER_DAYS`` at the burn rate (shown "more than 10 years")."""
        return self.days is not None and self.days > MAX_COVER_DAYS


def days_of_cover(balance: Decimal, burn_rate: Decimal) -> Decimal | None:
    """``balance ÷ burn_rate`` to a tenth of a day, floored (never promise more than there is)."""
    if burn_rate <= 0:
        return None
    if balance <= 0:
        return ZERO
    return (balance / burn_rate).quantize(COVER_PLACES, rounding=ROUND_FLOOR)


def _codes(channel: Channel) -> dict[str, str]:
    contract = channel.contract
    ref = channel_reference(channel.pk)
    return {
        kind: account_code(kind=kind, currency=contract.currency, vendor=contract.vendor, reference=ref)
        for kind in (K.UPSTREAM_PREPAID, K.UPSTREAM_ACCRUED, K.PAYABLE)
    }


def cover_for_channels(channels, *, today: date | None = None) -> dict[int, Cover]:
    """Channel id → its ``Cover``, for ``channels`` (a queryset or channels with contract and vendor
    loaded) in three queries: the accounts, the channels' aliases, the trailing week's rollups."""
    if isinstance(channels, QuerySet):
        channels = channels.select_related("contract__vendor")
    channels = list(channels)
    today = today or timezone.localdate()
    codes = {c.pk: _codes(c) for c in channels}
    balances = dict(
        LedgerAccount.objects.filter(
            code__in=[code for cc in codes.values() for code in cc.values()]
        ).values_list("code", "balance")
    )
    start, end = today - timedelta(days=TRAILING_DAYS), today - timedelta(days=1)
    spent = cost_by_channel(channels, start, end) if channels else {}
    found = {}
    for channel in channels:
        code = codes[channel.pk]
        prepaid = channel.contract.settlement == Settlement.PREPAID
        balance = balances.get(code[K.UPSTREAM_PREPAID], ZERO)
        burn = spent.get(channel.pk, ZERO) / TRAILING_DAYS
        days = days_of_cover(balance, burn) if prepaid else None
        dated = days is not None and days <= MAX_COVER_DAYS
        found[channel.pk] = Cover(
            channel=channel,
            currency=channel.contract.currency,
            prepaid=prepaid,
            balance=balance,
            accrued=-balances.get(code[K.UPSTREAM_ACCRUED], ZERO),
            payables=-balances.get(code[K.PAYABLE], ZERO),
            burn_rate=burn,
            days=days,
            runs_out_on=today + timedelta(days=int(days)) if dated else None,
        )
    return found


def balance_by_day(
    channel: Channel, *, days: int = 60, today: date | None = None
) -> list[tuple[date, Decimal]]:
    """The prepaid balance at the end of each of the last ``days`` days (by the entries' effective dates)."""
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    code = _codes(channel)[K.UPSTREAM_PREPAID]
    entries = JournalEntry.objects.filter(account__code=code)
    balance = entries.filter(transaction__effective_date__lt=start).aggregate(s=Sum("amount"))["s"] or ZERO
    moves = dict(
        entries.filter(transaction__effective_date__gte=start, transaction__effective_date__lte=today)
        .values_list("transaction__effective_date")
        .annotate(total=Sum("amount"))
        .values_list("transaction__effective_date", "total")
        .order_by()
    )
    series = []
    for offset in range(days):
        on = start + timedelta(days=offset)
        balance += moves.get(on, ZERO)
        series.append((on, balance))
    return series


def projection(cover: Cover, *, today: date | None = None, horizon: int = 90) -> list[tuple[date, Decimal]]:
    """The balance projected at the burn rate from today until it reaches zero (at most ``horizon`` days)."""
    today = today or timezone.localdate()
    if not cover.prepaid or cover.burn_rate <= 0 or cover.balance <= 0:
        return []
    points, balance, on = [(today, cover.balance)], cover.balance, today
    while balance > 0 and on < today + timedelta(days=horizon):
        on += timedelta(days=1)
        balance = max(balance - cover.burn_rate, ZERO)
        points.append((on, balance))
    return points
