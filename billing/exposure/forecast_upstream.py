"""Next period's upstream cash need per vendor, from each channel's trailing consumption trend.

For every active channel (and any channel that consumed in the window):

* **trend** — the daily cost of tokens at contract cost over the trend window (``window`` whole days ending
  yesterday: today is not over), from the usage rollups (``billing.upstream.consumption``), a day with no
  usage counting 0; a least-squares line through those days (``trend_fit``) projected over the horizon,
  each day's projection floored at 0 (consumption is never negative);
* **prepaid channel** — consumption draws the prepaid balance (``billing.upstream.cover``: the ledger's
  unused credit); what the projection needs beyond it must be bought (a top-up, assumed paid from the bank
  on the day the balance runs out). To fund = that top-up + the channel's unpaid vendor invoices falling
  due within the horizon (a pack bought on invoice);
* **postpaid channel** — the vendor invoices each month after it ends: assumed issued on the first day of
  the next month (the accrual of a month already ended, not yet invoiced, is expected at once) and due
  ``payment_terms_days`` later (the contract's terms). The accrual not yet invoiced splits into this
  month's consumption (rollups) and the rest (earlier months). To fund = open invoices falling due within
  the horizon + what will be billed and fall due within it.

Amounts are in the contract currency; vendor totals in the base currency at today's rate (a missing rate
is named, never counted as 0 or 1). Commitment shortfalls and volume rebates are not projected: they are
posted when a period ends, and the accrual and payables already hold the ones posted.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from billing.upstream.consumption import cost_by_channel, cost_by_channel_day
from billing.upstream.cover import cover_for_channels
from billing.upstream.models import VendorBill
from catalog.models import Channel

ZERO = Decimal(0)


@dataclass(frozen=True)
class Trend:
    """A least-squares line ``intercept + slope × x`` through daily values at x = 0 … n − 1."""

    slope: Decimal
    intercept: Decimal
    days: int

    def at(self, x: int) -> Decimal:
        """The line's value on day ``x`` (the window's first day is 0), floored at 0."""
        return max(self.intercept + self.slope * x, ZERO)

    def ahead(self, horizon: int) -> list[Decimal]:
        """The projected values of the ``horizon`` days after the window (tomorrow's first is x = n + 1:
        the window ends yesterday, so today is x = n)."""
        return [self.at(self.days + k) for k in range(1, horizon + 1)]

    def today(self) -> Decimal:
        return self.at(self.days)

    @property
    def per_30_days(self) -> Decimal:
        """How much the daily figure moves in 30 days (the slope is too small to read per day)."""
        return self.slope * 30


def trend_fit(values: list[Decimal]) -> Trend:
    """The ordinary least-squares line through ``values`` (one per day, oldest first), in Decimal."""
    n = len(values)
    if n == 0:
        return Trend(ZERO, ZERO, 0)
    mean_x = Decimal(n - 1) / 2
    mean_y = sum(values, ZERO) / n
    sxx = sum(((Decimal(x) - mean_x) ** 2 for x in range(n)), ZERO)
    if sxx == 0:
        return Trend(ZERO, mean_y, n)
    sxy = sum(((Decimal(x) - mean_x) * (y - mean_y) for x, y in enumerate(values)), ZERO)
    slope = sxy / sxx
    return Trend(slope, mean_y - slope * mean_x, n)


def daily_series(by_day: dict[date, Decimal], first: date, days: int) -> list[Decimal]:
    """``days`` values from ``first``, 0 where ``by_day`` has none."""
    return [by_day.get(first + timedelta(days=k), ZERO) for k in range(days)]


@dataclass
class ChannelNeed:
    """One channel's projection over the horizon, in its contract currency."""

    channel: Channel
    currency: str
    prepaid: bool
    trend: Trend
    consumption: Decimal  # projected over the horizon
    balance: Decimal  # prepaid unused (prepaid channels)
    accrued: Decimal  # accrued, not invoiced (postpaid)
    bills_due: Decimal  # open vendor invoices falling due within the horizon
    top_up: Decimal  # prepaid: consumption beyond the balance
    billed: Decimal  # postpaid: to be invoiced within the horizon
    billed_due: Decimal  # postpaid: of that and the accrual, falling due within the horizon
    runs_out_on: date | None
    # For the float curve: consumption and prepaid drawn per day ahead; invoices paid and top-ups by day.
    consumed_by_day: list[Decimal] = field(default_factory=list)
    drawn_by_day: list[Decimal] = field(default_factory=list)
    paid_by_day: dict[date, Decimal] = field(default_factory=dict)
    topped_by_day: dict[date, Decimal] = field(default_factory=dict)

    @property
    def to_fund(self) -> Decimal:
        return self.bills_due + self.top_up + self.billed_due


@dataclass
class VendorNeed:
    name: str
    channels: list[ChannelNeed]
    total_base: Decimal | None  # None: a rate is missing (``missing`` names it)
    missing: list[str]


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def postpaid_schedule(
    need: ChannelNeed, today: date, month_so_far: Decimal, terms: int, horizon: int
) -> None:
    """Fill ``billed``, ``billed_due`` and ``paid_by_day`` of a postpaid channel (module docstring)."""
    end = today + timedelta(days=horizon)
    invoices: dict[date, Decimal] = defaultdict(Decimal)  # issue day → amount
    earlier = max(need.accrued - month_so_far, ZERO)
    if earlier:
        invoices[today] += earlier
    invoices[_next_month(today)] += need.accrued - earlier
    for k, amount in enumerate(need.consumed_by_day, start=1):
        invoices[_next_month(today + timedelta(days=k))] += amount
    for issued, amount in invoices.items():
        if today <= issued <= end:
            need.billed += amount
        due = issued + timedelta(days=terms)
        if due <= end and amount:
            need.billed_due += amount
            on = max(due, today + timedelta(days=1))
            need.paid_by_day[on] = need.paid_by_day.get(on, ZERO) + amount


def prepaid_schedule(need: ChannelNeed, today: date) -> None:
    """Draw the balance day by day; what the projection needs beyond it is a top-up (module docstring)."""
    left = max(need.balance, ZERO)
    for k, amount in enumerate(need.consumed_by_day, start=1):
        drawn = min(amount, left)
        left -= drawn
        need.drawn_by_day.append(drawn)
        short = amount - drawn
        if short:
            on = today + timedelta(days=k)
            if need.runs_out_on is None:
                need.runs_out_on = on
            need.top_up += short
            need.topped_by_day[on] = need.topped_by_day.get(on, ZERO) + short


def channel_needs(today: date, *, window: int, horizon: int) -> list[ChannelNeed]:
    """Every channel's projection (module docstring): active channels, and closed ones still consuming,
    owing or accrued."""
    first, last = today - timedelta(days=window), today - timedelta(days=1)
    channels = list(
        Channel.objects.select_related("contract__vendor").order_by("contract__vendor__name", "name")
    )
    by_day = cost_by_channel_day(channels, first, last) if channels else {}
    end = today + timedelta(days=horizon)
    bills: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    open_bills = VendorBill.objects.filter(
        state=VendorBill.State.OPEN, transaction__isnull=False, due_on__lte=end
    )
    for channel_id, due_on, amount, paid in open_bills.values_list(
        "channel_id", "due_on", "amount", "paid_amount"
    ):
        # An overdue invoice is paid at once: tomorrow, the first day the curve moves.
        bills[channel_id].append((max(due_on, today + timedelta(days=1)), amount - paid))
    covers = cover_for_channels(channels, today=today)
    # A channel closed since still counts while it consumed lately, owes an invoice or holds an accrual.
    channels = [c for c in channels if c.is_active or c.pk in by_day or c.pk in bills or covers[c.pk].accrued]
    month_so_far = cost_by_channel(channels, _month_start(today), today) if channels else {}
    needs = []
    for channel in channels:
        cover = covers[channel.pk]
        trend = trend_fit(daily_series(by_day.get(channel.pk, {}), first, window))
        consumed = trend.ahead(horizon)
        need = ChannelNeed(
            channel=channel,
            currency=cover.currency,
            prepaid=cover.prepaid,
            trend=trend,
            consumption=sum(consumed, ZERO),
            balance=cover.balance if cover.prepaid else ZERO,
            accrued=cover.accrued,
            bills_due=sum((left for _on, left in bills[channel.pk]), ZERO),
            top_up=ZERO,
            billed=ZERO,
            billed_due=ZERO,
            runs_out_on=None,
            consumed_by_day=consumed,
        )
        for on, left in bills[channel.pk]:
            need.paid_by_day[on] = need.paid_by_day.get(on, ZERO) + left
        if need.prepaid:
            prepaid_schedule(need, today)
        else:
            need.drawn_by_day = [ZERO] * horizon
            terms = channel.contract.payment_terms_days
            postpaid_schedule(need, today, month_so_far.get(channel.pk, ZERO), terms, horizon)
        needs.append(need)
    return needs


def vendor_needs(needs: list[ChannelNeed], rates, today: date) -> list[VendorNeed]:
    """Channels grouped by vendor with the amount to fund in the base currency (``rates``: BaseRates)."""
    grouped: dict[str, list[ChannelNeed]] = defaultdict(list)
    for need in needs:
        grouped[need.channel.contract.vendor.name].append(need)
    out = []
    for name, channels in grouped.items():
        total, missing = ZERO, []
        for need in channels:
            rate = rates.rate(need.currency, today)
            if rate is None:
                missing.append(f"{need.currency}→{rates.base} {today:%Y-%m-%d}")
            else:
                total += need.to_fund * rate
        out.append(VendorNeed(name, channels, None if missing else total, sorted(set(missing))))
    return out
