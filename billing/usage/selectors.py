"""Reads for the usage pages. Totals, charts and tables read ONLY the daily rollups, never raw events.

Units: requests and tokens are counts; ``sell`` is in the rollup row's sell currency and ``cost`` is the
contract cost converted into that same sell currency with the exchange rate in force on the row's day
(``catalog.FxRate``, the entered direction only), so margin = sell − cost is meaningful. A row whose cost
currency has no rate to the sell currency yet contributes no cost; the pages list such pairs as missing.
Amounts are full-precision ``Decimal``; templates round for display only.

Rankings across currencies (by model, top customers, by sub-distributor) compare ``sell_base``: the sales
in the operator's base currency, each day's rollup at that day's rate (``rate_to_base``), so 10,000 JPY
does not outrank 100 USD. A group sold in a currency with no rate has no ``sell_base`` and ranks last;
pages show the amount in its own currency with the base figure beside it.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
from django.utils import timezone

from accounts.models import Customer
from billing.usage.models import (
    TOKEN_COLUMNS,
    UPLOAD_STALLED_AFTER,
    GatewaySource,
    RatingState,
    UsageBatch,
    UsageDaily,
    UsageEvent,
    UsageUpload,
)
from catalog.models import FxRate

DEFAULT_DAYS = 30
TOP_CUSTOMERS = 20
# Unrated reasons are stored as "<code>: <detail>" (billing.usage.rating / pricing).
UNRATED_REASONS = ("unknown_key", "unknown_model", "no_plan", "no_price", "missing_fx", "not_rateable")

_MONEY = DecimalField(max_digits=60, decimal_places=36)
_ZERO = Value(Decimal(0), output_field=_MONEY)
TOKEN_SUMS = ("requests", *TOKEN_COLUMNS)


def default_range(today: date | None = None) -> tuple[date, date]:
    """The last ``DEFAULT_DAYS`` days up to today (operator's time zone), both ends included."""
    today = today or timezone.localdate()
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def _fx_rate_on_day() -> Subquery:
    """Rate turning the row's cost currency into its sell currency on the row's day (NULL if none)."""
    rates = FxRate.objects.filter(
        base=OuterRef("cost_currency"), quote=OuterRef("sell_currency"), date__lte=OuterRef("day")
    ).order_by("-date")
    return Subquery(rates.values("rate")[:1], output_field=DecimalField(max_digits=24, decimal_places=12))


def rate_to_base(base: str) -> Case:
    """Per rollup row: 1 when sold in ``base``, else the sell currency's rate to ``base`` on the row's day:
    the latest ``FxRate`` dated on or before it, entered as ``1 sell currency = rate base`` (NULL if none)."""
    rates = FxRate.objects.filter(base=OuterRef("sell_currency"), quote=base, date__lte=OuterRef("day"))
    return Case(
        When(sell_currency=base, then=Value(Decimal(1))),
        default=Subquery(rates.order_by("-date").values("rate")[:1]),
        output_field=DecimalField(max_digits=24, decimal_places=12),
    )


def _in_base(rows: QuerySet[UsageDaily]) -> QuerySet[UsageDaily]:
    """``rows`` with each one's rate to the base currency, for ``sell_base`` sums."""
    return rows.order_by().annotate(base_rate=rate_to_base(settings.BASE_CURRENCY))


def _sell_base() -> Case:
    """Sales in the base currency; NULL when any row of the group has no rate (a group whose first days
    came before its currency's first rate is not ranked on a partial sum)."""
    every_row_rated = Exact(Count("base_rate"), Count("*"))
    return Case(
        When(every_row_rated, then=Sum(F("sell_amount") * F("base_rate"), output_field=_MONEY)),
        default=None,
        output_field=_MONEY,
    )


def _by_base(*tiebreak: str) -> list:
    return [F("sell_base").desc(nulls_last=True), "-sell", *tiebreak]


def cost_in_sell_currency() -> Case:
    """Per rollup row: the cost in the sell currency (same currency: as is; no cost book: 0)."""
    return Case(
        When(Q(cost_currency=F("sell_currency")) | Q(cost_currency=""), then=F("cost_amount")),
        default=F("cost_amount") * _fx_rate_on_day(),
        output_field=_MONEY,
    )


def money_sum(expression) -> Coalesce:
    """The full-precision sum of an amount column or expression, 0 over no rows."""
    return Coalesce(Sum(expression), _ZERO, output_field=_MONEY)


def _sums(**extra) -> dict:
    sums = {name: Coalesce(Sum(name), 0) for name in TOKEN_SUMS}
    sums["sell"] = money_sum("sell_amount")
    sums["cost"] = money_sum(cost_in_sell_currency())
    sums.update(extra)
    return sums


def _with_margin(row: dict) -> dict:
    row["margin"] = row["sell"] - row["cost"]
    row["margin_pct"] = (100 * row["margin"] / row["sell"]) if row["sell"] else None
    row["tokens"] = row["prompt_tokens"] + row["completion_tokens"]
    return row


def daily_rows(
    *, customers: QuerySet | None = None, start: date | None = None, end: date | None = None
) -> QuerySet[UsageDaily]:
    """Daily rollup rows for ``customers`` (all when None) between ``start`` and ``end`` inclusive."""
    rows = UsageDaily.objects.all()
    if customers is not None:
        rows = rows.filter(customer__in=customers)
    if start is not None:
        rows = rows.filter(day__gte=start)
    if end is not None:
        rows = rows.filter(day__lte=end)
    return rows


def customers_sold_below(home: Customer) -> QuerySet[Customer]:
    """The customers below ``home`` in the book they are sold in: a reseller's own book, else its
    seller's. Deeper customers sold by a reseller below are left out: that reseller stands for them (at
    its buy price), so each request counts once."""
    book = home.pk if home.is_reseller else home.seller_id
    return Customer.objects.filter(path__startswith=home.path, seller_id=book).exclude(pk=home.pk)


def book_customers(book: Customer | None) -> QuerySet[Customer]:
    """The customers sold in ``book`` (None: the operator's)."""
    return Customer.objects.filter(seller=book)


@dataclass
class UsageTotals:
    """Totals per sell currency, plus the currency pairs whose cost could not be converted."""

    by_currency: list[dict] = field(default_factory=list)
    missing_fx: list[tuple[str, str]] = field(default_factory=list)

    @property
    def overall(self) -> dict:
        """Requests and tokens per class summed over every currency (counts add up; money does not)."""
        out = {name: sum(r[name] for r in self.by_currency) for name in TOKEN_SUMS}
        out["cache_write_all_tokens"] = out["cache_write_tokens"] + out["cache_write_1h_tokens"]
        return out

    def currencies(self) -> list[str]:
        return [r["sell_currency"] for r in self.by_currency]


def usage_totals(rows: QuerySet[UsageDaily]) -> UsageTotals:
    """Sum ``rows`` per sell currency: requests, tokens per class, sell, cost, margin."""
    rows = rows.order_by()
    by_currency = [
        _with_margin(r)
        for r in rows.values("sell_currency").annotate(**_sums()).order_by("-sell", "sell_currency")
    ]
    return UsageTotals(by_currency=by_currency, missing_fx=fx_missing(rows))


def fx_missing(rows: QuerySet[UsageDaily]) -> list[tuple[str, str]]:
    """The (cost, sell) currency pairs of ``rows`` whose cost could not be converted on some day."""
    missing = (
        rows.order_by()
        .exclude(cost_currency="")
        .exclude(cost_currency=F("sell_currency"))
        .annotate(rate=_fx_rate_on_day())
        .filter(rate__isnull=True)
        .values_list("cost_currency", "sell_currency")
        .distinct()
    )
    return sorted(set(missing))


def chart_currency(totals: UsageTotals, wanted: str | None = None) -> str | None:
    """The currency a money chart is drawn in: the one asked for, else the one with the most sales."""
    currencies = totals.currencies()
    if wanted and wanted in currencies:
        return wanted
    return currencies[0] if currencies else None


def usage_by_day(rows: QuerySet[UsageDaily], *, currency: str | None, start: date, end: date) -> list[dict]:
    """One dict per day from ``start`` to ``end`` (days without usage included, as zeros).

    Token counts cover every currency; ``sell``/``cost``/``margin`` only rows sold in ``currency``.
    """
    rows = rows.order_by()
    token_sums = {n: Coalesce(Sum(n), 0) for n in TOKEN_SUMS}
    tokens = {r["day"]: r for r in rows.values("day").annotate(**token_sums)}
    money = {}
    if currency:
        for r in rows.filter(sell_currency=currency).values("day").annotate(**_sums()):
            money[r["day"]] = r
    out = []
    day = start
    while day <= end:
        row = dict.fromkeys(TOKEN_SUMS, 0)
        row.update(tokens.get(day, {}))
        row["day"] = day
        row["sell"] = money.get(day, {}).get("sell", Decimal(0))
        row["cost"] = money.get(day, {}).get("cost", Decimal(0))
        out.append(_with_margin(row))
        day += timedelta(days=1)
    return out


def usage_by_model(rows: QuerySet[UsageDaily]) -> QuerySet:
    """Rollups grouped by model and sell currency, with totals (a values() queryset a filter can sort),
    largest sales in the base currency first."""
    return (
        _in_base(rows)
        .values("model_id", "model__name", "model__vendor__name", "sell_currency")
        .annotate(
            **_sums(sell_base=_sell_base()),
            margin=F("sell") - F("cost"),
            tokens=F("prompt_tokens") + F("completion_tokens"),
        )
        .order_by(*_by_base("model__name"))
    )


def usage_by_customer(rows: QuerySet[UsageDaily], *, limit: int = TOP_CUSTOMERS) -> list[dict]:
    """The ``limit`` customers (per sell currency) with the highest sales in the base currency."""
    grouped = (
        _in_base(rows)
        .values("customer_id", "customer__name", "customer__code", "sell_currency")
        .annotate(**_sums(sell_base=_sell_base()))
        .order_by(*_by_base("customer__name"))[:limit]
    )
    return [_with_margin(r) for r in grouped]


def usage_by_sub_distributor(
    rows: QuerySet[UsageDaily], *, book: Customer | None, limit: int = TOP_CUSTOMERS
) -> list[dict]:
    """``rows`` of one book grouped by the top of each customer's branch under the book's seller (the
    operator's top-level customers, or a reseller's direct customers): a sub-distributor with every
    customer of its branch in this book, an end customer alone; the ``limit`` largest per sell currency."""
    depth = book.depth + 1 if book is not None else 0
    grouped = (
        _in_base(rows).values("customer__path", "sell_currency").annotate(**_sums(sell_base=_sell_base()))
    )
    groups: dict[tuple[int, str], dict] = {}
    for row in grouped:
        top = int(row["customer__path"].strip("/").split("/")[depth])
        group = groups.setdefault(
            (top, row["sell_currency"]),
            {"customer_id": top, "sell_currency": row["sell_currency"], "customers": 0}
            | dict.fromkeys((*TOKEN_SUMS, "sell", "cost", "sell_base"), 0),
        )
        group["customers"] += 1
        for name in (*TOKEN_SUMS, "sell", "cost"):
            group[name] += row[name]
        # One customer without a rate leaves the whole group without a base figure.
        has_base = group["sell_base"] is not None and row["sell_base"] is not None
        group["sell_base"] = group["sell_base"] + row["sell_base"] if has_base else None
    tops = Customer.objects.in_bulk({top for top, _currency in groups})
    out = []
    for (top, _currency), group in groups.items():
        customer = tops[top]
        group.update(customer__name=customer.name, customer__code=customer.code, customer=customer)
        out.append(_with_margin(group))
    # Base sales first (none last), then sales in the group's own currency, then the name.
    return sorted(
        out,
        key=lambda g: (g["sell_base"] is None, -(g["sell_base"] or 0), -g["sell"], g["customer__name"]),
    )[:limit]


def chart_series(days: list[dict]) -> dict:
    """The JSON the usage charts draw: money per day and tokens per class per day."""
    return {
        "labels": [d["day"].isoformat() for d in days],
        "sell": [str(d["sell"]) for d in days],
        "cost": [str(d["cost"]) for d in days],
        "input": [
            d["prompt_tokens"] - d["cache_read_tokens"] - d["cache_write_tokens"] - d["cache_write_1h_tokens"]
            for d in days
        ],
        "cache_read": [d["cache_read_tokens"] for d in days],
        "cache_write": [d["cache_write_tokens"] + d["cache_write_1h_tokens"] for d in days],
        "output": [d["completion_tokens"] for d in days],
    }


# --- Unrated queue ------------------------------------------------------------------------------


def unrated_events() -> QuerySet[UsageEvent]:
    return UsageEvent.objects.filter(rating_state=RatingState.UNRATED)


def unrated_counts(events: QuerySet[UsageEvent]) -> list[tuple[str, int]]:
    """How many of ``events`` wait for each reason code (one query), largest first."""
    counts = events.order_by().aggregate(
        total=Count("pk"),
        **{code: Count("pk", filter=Q(unrated_reason__startswith=code)) for code in UNRATED_REASONS},
    )
    total = counts.pop("total")
    known = sum(counts.values())
    rows = [(code, n) for code, n in counts.items() if n]
    if total > known:
        rows.append(("other", total - known))
    return sorted(rows, key=lambda r: -r[1])


def rerate_runs(limit: int = 5) -> QuerySet[UsageBatch]:
    """The latest re-rating runs (their counts show what a bulk re-rate achieved)."""
    return UsageBatch.objects.filter(fmt="rerate").order_by("-id")[:limit]


# --- Uploads and sources ------------------------------------------------------------------------


def uploads_list() -> QuerySet[UsageUpload]:
    return UsageUpload.objects.select_related("source", "created_by")


def uploads_resumable() -> QuerySet[UsageUpload]:
    """Uploads to queue again: not queued (the task queue was unreachable), or stalled (running with no
    heartbeat for ``UPLOAD_STALLED_AFTER``; none at all: running since before heartbeats were kept)."""
    silent = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=timezone.now() - UPLOAD_STALLED_AFTER)
    return UsageUpload.objects.filter(
        Q(state=UsageUpload.State.UNQUEUED) | (Q(state=UsageUpload.State.RUNNING) & silent)
    )


def sources_list() -> QuerySet[GatewaySource]:
    return GatewaySource.objects.annotate(key_count=Count("keys", filter=Q(keys__is_active=True))).order_by(
        "name"
    )
