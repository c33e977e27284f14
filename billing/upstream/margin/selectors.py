"""Gross margin of the operator's own sales, grouped by one dimension, for a period and the one before it.

What counts as our revenue: every request has exactly one rated row whose customer has no seller
(``seller_id IS NULL``): a direct customer's event, the event of a customer an agency brought (we bill it,
the agent earns a commission), or the top hop of a chain — a resale sub-distributor's purchase, which
carries its whole subtree's requests at our price to it. So the report reads the daily rollups of those
customers only: ``sell_amount`` is what the credit-terms invoice or the prepaid wallet charged, and
``cost_amount`` the upstream cost at the channel's contract price, in the contract currency. An end
customer's retail under a reseller is the reseller's revenue, never ours (``billing.chain.report`` shows
every hop of the chain, and agents' commissions, which are not upstream cost and are not deducted here).

Amounts are converted to ``settings.BASE_CURRENCY`` at the rate in force on each rollup day (``sums``).
Everything is summed in SQL over whole days of the daily rollups, never raw events; Python only merges
the grouped sums (channel aliases, a sub-distributor's branch, the days of a week).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Min, QuerySet
from django.db.models.functions import Lower

from billing.upstream.margin.dimensions import Dimension, Grain, RowKey, row_keys
from billing.upstream.margin.figures import Figures
from billing.upstream.margin.sums import grouped_rows
from billing.usage.models import UsageDaily
from catalog.models import Channel, ChannelAlias, FxRate

UNMAPPED = "unmapped"
"""The channel filter's value for upstream accounts that name no channel."""
CHART_ROWS = 12
SORTS = ("label", "requests", "revenue", "cost", "margin", "margin_pct", "previous_margin", "change")
"""The columns a report sorts by (``o=``); amounts are the base currency's."""


@dataclass(frozen=True)
class Scope:
    """The period and the filters of a report. ``channel``: a Channel, ``UNMAPPED``, or None (every one)."""

    start: date
    end: date
    vendor_id: int | None = None
    channel: Channel | str | None = None
    model_id: int | None = None
    customer_id: int | None = None
    sell_currency: str = ""
    cost_currency: str = ""

    @property
    def filtered(self) -> bool:
        filters = (self.vendor_id, self.channel, self.model_id, self.customer_id)
        return any(filters) or bool(self.sell_currency or self.cost_currency)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def previous_range(start: date, end: date, *, label: str = "") -> tuple[date, date]:
    """The period a report compares with: the month or quarter before a month or quarter (``label``
    "2026-05", "2026-Q2"), else the same number of days just before ``start``."""
    if label:
        months = 3 if "Q" in label.upper() else 1
        first = start
        for _month in range(months):
            first = (first - timedelta(days=1)).replace(day=1)
        return first, start - timedelta(days=1)
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def _channel_names(channel: Channel | None) -> list[str]:
    """Lower-cased names the gateway may send for ``channel`` (None: for every channel)."""
    channels = Channel.objects.all() if channel is None else Channel.objects.filter(pk=channel.pk)
    aliases = ChannelAlias.objects.filter(channel__in=channels)
    names = {n.lower() for n in channels.values_list("name", flat=True)}
    return sorted(names | {a.lower() for a in aliases.values_list("alias", flat=True)})


def scope_rows(scope: Scope, *, start: date | None = None, end: date | None = None) -> QuerySet[UsageDaily]:
    """The daily rollups of the operator's own sales within ``scope`` (or another date range)."""
    rows = UsageDaily.objects.filter(
        day__gte=start or scope.start, day__lte=end or scope.end, customer__seller__isnull=True
    )
    if scope.vendor_id is not None:
        rows = rows.filter(model__vendor_id=scope.vendor_id)
    if scope.model_id is not None:
        rows = rows.filter(model_id=scope.model_id)
    if scope.customer_id is not None:
        rows = rows.filter(customer_id=scope.customer_id)
    if scope.sell_currency:
        rows = rows.filter(sell_currency=scope.sell_currency)
    if scope.cost_currency:
        rows = rows.filter(cost_currency=scope.cost_currency)
    if scope.channel == UNMAPPED:
        rows = rows.annotate(account_name=Lower("upstream_account")).exclude(
            account_name__in=_channel_names(None)
        )
    elif scope.channel is not None:
        rows = rows.annotate(account_name=Lower("upstream_account")).filter(
            account_name__in=_channel_names(scope.channel)
        )
    return rows


@dataclass
class MarginRow:
    key: RowKey
    current: Figures = field(default_factory=Figures)
    previous: Figures | None = field(default_factory=Figures)

    @property
    def change(self) -> Decimal | None:
        """Margin now less margin in the previous period (base currency); None if either is unknown."""
        if self.previous is None:
            return None
        now, before = self.current.margin_base, self.previous.margin_base
        return None if now is None or before is None else now - before


@dataclass
class MissingRate:
    """A currency whose amounts have no rate to the base currency on some days of the report."""

    currency: str
    amount: Decimal
    first_rate: date | None
    """The first day a rate is entered (days before it cannot be converted); None: no rate at all."""


@dataclass
class MarginReport:
    scope: Scope
    dimension: str
    grain: str
    previous_start: date
    previous_end: date
    rows: list[MarginRow]
    total: Figures
    previous_total: Figures
    base_currency: str = field(default_factory=lambda: settings.BASE_CURRENCY)

    @property
    def missing_rates(self) -> list[MissingRate]:
        """The currencies left unconverted this period, with how much and since when a rate exists."""
        items = self.total.unconverted_items
        if not items:
            return []
        rates = FxRate.objects.filter(base__in=[c for c, _a in items], quote=self.base_currency)
        firsts = dict(rates.values("base").annotate(first=Min("date")).values_list("base", "first"))
        return [MissingRate(c, amount, firsts.get(c)) for c, amount in items]

    @property
    def sell_currencies(self) -> list[str]:
        return sorted({c for row in self.rows for c in row.current.revenue})

    @property
    def cost_currencies(self) -> list[str]:
        return sorted({c for row in self.rows for c in row.current.cost})

    @property
    def compares(self) -> bool:
        """Whether rows carry the previous period (not by period: its rows are the days themselves)."""
        return self.dimension != Dimension.PERIOD


def _collect(scope: Scope, dimension: str, grain: str, *, start: date, end: date) -> dict[RowKey, Figures]:
    rows = scope_rows(scope, start=start, end=end)
    grouped = list(grouped_rows(rows, Dimension.sql_keys(dimension)))
    keys = row_keys(dimension, grouped, grain=grain)
    out: dict[RowKey, Figures] = {}
    for row, key in zip(grouped, keys, strict=True):
        out.setdefault(key, Figures()).add_row(row)
    return out


def margin_report(scope: Scope, dimension: str, *, grain: str = Grain.DAY, label: str = "") -> MarginReport:
    """The report of ``scope`` by ``dimension`` (``Dimension``), beside the period before it (``label``:
    the month or quarter ``scope`` is, for "the month before"; empty for a custom range)."""
    previous_start, previous_end = previous_range(scope.start, scope.end, label=label)
    current = _collect(scope, dimension, grain, start=scope.start, end=scope.end)
    before = _collect(scope, dimension, grain, start=previous_start, end=previous_end)
    compares = dimension != Dimension.PERIOD
    rows = []
    for key in current.keys() | (before.keys() if compares else set()):
        previous = before.get(key, Figures()) if compares else None
        rows.append(MarginRow(key=key, current=current.get(key, Figures()), previous=previous))
    total, previous_total = Figures(), Figures()
    for figures in current.values():
        total.merge(figures)
    for figures in before.values():
        previous_total.merge(figures)
    return MarginReport(
        scope=scope,
        dimension=dimension,
        grain=grain,
        previous_start=previous_start,
        previous_end=previous_end,
        rows=rows_sorted(rows, "label" if dimension == Dimension.PERIOD else "-revenue"),
        total=total,
        previous_total=previous_total,
    )


def _sort_value(row: MarginRow, name: str):
    values = {
        "label": lambda: row.key.sort_label,
        "requests": lambda: row.current.requests,
        "revenue": lambda: row.current.revenue_base,
        "cost": lambda: row.current.cost_base,
        "margin": lambda: row.current.margin_base,
        "margin_pct": lambda: row.current.margin_pct,
        "previous_margin": lambda: row.previous.margin_base if row.previous is not None else None,
        "change": lambda: row.change,
    }
    return values[name]()


def rows_sorted(rows: list[MarginRow], order: str) -> list[MarginRow]:
    """``rows`` by a column of ``SORTS`` ("-margin": descending), rows whose value is unknown (a rate is
    missing) last either way; an unknown column sorts by name."""
    name = order.lstrip("-")
    if name not in SORTS:
        name, order = "label", "label"
    known = [r for r in rows if _sort_value(r, name) is not None]
    unknown = [r for r in rows if _sort_value(r, name) is None]
    known.sort(key=lambda r: (_sort_value(r, name), r.key.sort_label), reverse=order.startswith("-"))
    unknown.sort(key=lambda r: r.key.sort_label)
    return known + unknown


def margin_over_time(scope: Scope) -> list[tuple[str, Decimal | None, Decimal | None]]:
    """(label, margin %, margin) in the base currency per day of ``scope`` — per week beyond 92 days —
    for the days with revenue; a day whose rate is missing has None."""
    grain = Grain.DAY if scope.days <= 92 else Grain.WEEK
    buckets = _collect(scope, Dimension.PERIOD, grain, start=scope.start, end=scope.end)
    out = []
    for key in sorted(buckets, key=lambda k: k.sort_label):
        figures = buckets[key]
        if figures.revenue:
            out.append((key.label, figures.margin_pct, figures.margin_base))
    return out


def chart_rows(report: MarginReport) -> list[MarginRow]:
    """The rows a bar chart draws: the largest by base revenue among those every rate converts."""
    known = [r for r in report.rows if r.current.margin_base is not None and r.current.revenue_base]
    return sorted(known, key=lambda r: -r.current.revenue_base)[:CHART_ROWS]
