"""Expected collections from today's receivables, by due date, weighted by each aging bucket's history.

**Weights.** For each aging bucket (``billing.receivables.aging``), the share of the amounts open in that
bucket that customers historically paid within the horizon: at each month end of the last
``HISTORY_MONTHS`` months that is at least a horizon old, the amounts then open per bucket (read from
dated history by ``open_items_as_of``) and what payment allocations settled of those same invoices over
the next ``horizon`` days (releases count negative). share = Σ collected ÷ Σ open, over those month ends,
in the base currency at each month end's rate. A bucket needs amounts open at ``MIN_SNAPSHOTS`` month ends
or more; with less history its weight falls back to 1 − the provision matrix's entered loss rate for that
bucket (``EclMatrix``), and the page says which was used.

**Timing.** An amount not yet due is expected on its due date; an overdue one from tomorrow (the curve's
first day): expected = open × the bucket's weight. Credit notes and write-offs are not collections.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from billing.exposure.models import EclMatrix
from billing.invoicing.models import Invoice
from billing.money import MoneyField
from billing.receivables.aging import BUCKET_KEYS, BUCKET_LABELS, open_items_as_of
from billing.receivables.models import PaymentAllocation
from billing.receivables.moments import day_end

ZERO = Decimal(0)
HISTORY_MONTHS = 12
MIN_SNAPSHOTS = 3
HISTORY = "history"
MATRIX = "matrix"
SOURCE_LABELS = {
    HISTORY: _("collected history"),
    MATRIX: _("1 − provision matrix rate"),
}


@dataclass(frozen=True)
class Weight:
    """A bucket's expected share collected (0–1), where it came from, and the history behind it."""

    bucket: str
    share: Decimal
    source: str  # HISTORY or MATRIX
    snapshots: int
    open_base: Decimal
    collected_base: Decimal

    @property
    def label(self):
        return BUCKET_LABELS[self.bucket]

    @property
    def source_label(self):
        return SOURCE_LABELS[self.source]

    @property
    def percent(self) -> Decimal:
        return (self.share * 100).quantize(Decimal("0.01"))


@dataclass
class BucketRow:
    bucket: str
    weight: Weight
    open_base: Decimal = ZERO
    expected_base: Decimal = ZERO

    @property
    def label(self):
        return BUCKET_LABELS[self.bucket]


@dataclass
class Collections:
    """Today's open receivables per bucket and what is expected of them, in the base currency."""

    rows: list[BucketRow]
    by_day: dict[date, Decimal]  # expected collection day → amount (base)
    missing: list[str]  # "USD→CNY 2026-12-06": amounts in those currencies left out

    @property
    def open_base(self) -> Decimal:
        return sum((r.open_base for r in self.rows), ZERO)

    @property
    def expected_base(self) -> Decimal:
        return sum((r.expected_base for r in self.rows), ZERO)

    @property
    def within(self) -> Decimal:
        return sum(self.by_day.values(), ZERO)

    def by_week(self, today: date, horizon: int) -> list[tuple[date, date, Decimal]]:
        """(first day, last day, expected) for each 7 days from tomorrow to the horizon's end."""
        weeks, start, end = [], today + timedelta(days=1), today + timedelta(days=horizon)
        while start <= end:
            last = min(start + timedelta(days=6), end)
            amount = sum((v for on, v in self.by_day.items() if start <= on <= last), ZERO)
            weeks.append((start, last, amount))
            start = last + timedelta(days=1)
        return weeks


def month_ends(today: date, horizon: int, months: int = HISTORY_MONTHS) -> list[date]:
    """The month ends at least ``horizon`` days before ``today``, the latest ``months`` of them."""
    ends, day = [], today.replace(day=1) - timedelta(days=1)
    while len(ends) < months:
        if day <= today - timedelta(days=horizon):
            ends.append(day)
        day = day.replace(day=1) - timedelta(days=1)
    return ends


def _missing_text(pair) -> str:
    currency, base, on = pair
    return f"{currency}→{base} {on:%Y-%m-%d}"


def collection_weights(today: date, horizon: int, rates) -> dict[str, Weight]:
    """Bucket key → ``Weight`` (module docstring); ``rates`` a ``BaseRates`` (missing pairs remembered)."""
    opened: dict[str, Decimal] = defaultdict(Decimal)
    collected: dict[str, Decimal] = defaultdict(Decimal)
    seen: dict[str, int] = defaultdict(int)
    for end in month_ends(today, horizon):
        window = PaymentAllocation.objects.filter(
            invoice=OuterRef("pk"),
            allocated_at__gte=day_end(end),
            allocated_at__lt=day_end(end + timedelta(days=horizon)),
        )
        got = window.order_by().values("invoice").annotate(s=Sum("amount")).values("s")
        rows = (
            open_items_as_of(end, _operator_invoices())
            .annotate(collected=Coalesce(Subquery(got), Value(ZERO), output_field=MoneyField()))
            .order_by()
            .values("bucket", "currency")
            .annotate(open=Sum("open_then"), got=Sum("collected"))
        )
        buckets_then = set()
        for row in rows:
            rate = rates.rate(row["currency"], end)
            if rate is None:
                continue
            opened[row["bucket"]] += (row["open"] or ZERO) * rate
            collected[row["bucket"]] += (row["got"] or ZERO) * rate
            buckets_then.add(row["bucket"])
        for bucket in buckets_then:
            seen[bucket] += 1
    matrix = dict(zip(BUCKET_KEYS, EclMatrix.load().entered_rates, strict=True))
    weights = {}
    for bucket in BUCKET_KEYS:
        if seen[bucket] >= MIN_SNAPSHOTS and opened[bucket] > 0:
            share = min(max(collected[bucket] / opened[bucket], ZERO), Decimal(1))
            source = HISTORY
        else:
            share = 1 - matrix[bucket] / 100
            source = MATRIX
        weights[bucket] = Weight(
            bucket=bucket,
            share=share.quantize(Decimal("0.0001")),
            source=source,
            snapshots=seen[bucket],
            open_base=opened[bucket],
            collected_base=collected[bucket],
        )
    return weights


def expected_collections(today: date, horizon: int, rates) -> Collections:
    """Today's open receivables (operator's customers and sub-distributors alike: every invoice) per
    bucket, expected by due date at the bucket's weight, within ``horizon`` days from tomorrow."""
    weights = collection_weights(today, horizon, rates)
    rows = {key: BucketRow(key, weights[key]) for key in BUCKET_KEYS}
    by_day: dict[date, Decimal] = defaultdict(Decimal)
    tomorrow, end = today + timedelta(days=1), today + timedelta(days=horizon)
    items = (
        open_items_as_of(today, _operator_invoices())
        .order_by()
        .values("bucket", "currency", "aged_from")
        .annotate(open=Sum("open_then"))
    )
    missing = set()
    for item in items:
        rate = rates.rate(item["currency"], today)
        if rate is None:
            missing.add(_missing_text((item["currency"], rates.base, today)))
            continue
        row = rows[item["bucket"]]
        amount = item["open"] * rate
        expected = amount * row.weight.share
        row.open_base += amount
        row.expected_base += expected
        on = max(item["aged_from"], tomorrow)
        if on <= end:
            by_day[on] += expected
    return Collections(list(rows.values()), dict(by_day), sorted(missing))


def _operator_invoices():
    """Invoices whose receivable is in the operator's book (its direct customers and sub-distributors)."""
    return Invoice.objects.filter(customer__seller__isnull=True)
