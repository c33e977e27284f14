"""From parsed vendor rows to what an import would store: channels, models and days resolved, rows of
one stored key summed, and each compared with what is stored ("created", "changed", "unchanged").

A channel's day holds one row per *matched* model × batch flag (the catalog model, or the name as
reported when the catalog does not know it). The vendor key is always blank here: the vendor's key ids only
choose the channel, so several keys of one channel (and a file grouped by key or not, imported for a
channel or by key id) land on one row per channel, day and model. Spellings of one catalog model in a file
(``gpt-4o-mini`` and ``gpt-4o-mini-2024-07-18``) are summed into one row, and a day stored under one
spelling and imported again under another (the same day exported in another format) replaces the stored
figures under the stored spelling — importing the same usage two ways never counts it twice.

A stored row is all-or-nothing: when one of the source rows summed into it is in error, none of them is
imported (a partial sum would understate the vendor's figure), and each says why.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from billing.upstream.imports.days import BucketDays, day_window
from billing.upstream.imports.resolve import ChannelFinder, ModelFinder
from billing.upstream.imports.rows import COUNTS, FieldProblem, ParsedFile, RowError, SourceRow
from billing.upstream.models import VendorUsage
from catalog.models import AIModel, Channel

# What a stored row holds besides its key; a re-import that changes none of them leaves the row untouched.
FIGURES = (*COUNTS, "cost", "currency", "has_cache_counts", "starts_at", "ends_at", "model_id")
CREATED, CHANGED, UNCHANGED = "created", "changed", "unchanged"
# What VendorUsage's columns hold (bigint counts; cost of 28 digits, 12 of them decimals): a sum of rows
# beyond them is a broken export, refused on its rows rather than failing the whole import at the database.
STORABLE_COUNT = 2**63 - 1
STORABLE_COST_DIGITS = 16


@dataclass
class PlannedUsage:
    """One ``VendorUsage`` row as the import would store it."""

    channel: Channel
    day: date
    model_name: str
    is_batch: bool
    starts_at: datetime
    ends_at: datetime
    model: AIModel | None
    has_cache_counts: bool = True
    cost: Decimal | None = None
    currency: str = ""
    counts: dict = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    rows: list[int] = field(default_factory=list)
    problems: list[RowError] = field(default_factory=list)
    outcome: str = ""
    existing: VendorUsage | None = None
    changes: dict = field(default_factory=dict)  # field: (stored, imported), for a changed row
    vendor_key: str = ""
    reported: list[str] = field(default_factory=list)  # the file's spellings summed here, first first

    @property
    def key(self) -> tuple:
        match = ("model", self.model.pk) if self.model else ("name", self.model_name)
        return (self.channel.pk, self.day, match, self.is_batch, self.vendor_key)

    @property
    def other_spellings(self) -> list[str]:
        """What the file called the model, where that is not the name the row is stored under."""
        return [name for name in self.reported if name != self.model_name]

    def figures(self) -> dict:
        return {
            **self.counts,
            "cost": self.cost,
            "currency": self.currency,
            "has_cache_counts": self.has_cache_counts,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "model_id": self.model.pk if self.model else None,
        }


@dataclass
class UsagePlan:
    rows_read: int = 0
    planned: list[PlannedUsage] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({e.row for e in self.errors})

    def count(self, outcome: str) -> int:
        return sum(1 for p in self.planned if p.outcome == outcome)


def usage_plan(parsed: ParsedFile, *, channel: Channel | None) -> UsagePlan:
    """Resolve, sum and compare every row of ``parsed`` (rows are read once, in order)."""
    plan = UsagePlan()
    channels, models = ChannelFinder(channel), ModelFinder()
    days = BucketDays(parsed.buckets)
    found: dict[tuple, PlannedUsage] = {}
    for item in parsed.items:
        plan.rows_read += 1
        if isinstance(item, RowError):
            if not _withholds(item, found, channels, days, models):
                plan.errors.append(item)
            continue
        try:
            target = _placed(item, channels, days, models)
        except FieldProblem as problem:
            plan.errors.append(RowError(item.row, problem.field, problem.message, item.where))
            continue
        planned = found.setdefault(target.key, target)
        _add(planned, item, target)
    for planned in found.values():
        if planned.problems:
            plan.errors.extend(planned.problems)
            culprits = {p.row for p in planned.problems}
            for row in planned.rows:
                if row not in culprits:
                    plan.errors.append(_withheld(row, planned, culprits))
        else:
            plan.planned.append(planned)
    plan.errors.sort(key=lambda e: e.row)
    plan.planned.sort(key=lambda p: (p.channel.name, p.day, p.model_name, p.is_batch))
    usage_compare(plan)
    return plan


def _placed(row: SourceRow, channels: ChannelFinder, days: BucketDays, models: ModelFinder) -> PlannedUsage:
    channel = channels.find(row)
    if row.window is not None:
        day, (starts_at, ends_at) = days.place(row.window, channel.reporting_zone)
    else:
        day = row.day
        starts_at, ends_at = day_window(day, row.zone or channel.reporting_zone)
    return PlannedUsage(
        channel=channel,
        day=day,
        model_name=row.model_name,
        is_batch=row.is_batch,
        starts_at=starts_at,
        ends_at=ends_at,
        model=models.find(row.model_name, row.extra.get("permaslug", "")),
        has_cache_counts=row.has_cache_counts,
        cost=row.cost,
        currency=row.currency,
        rows=[],
    )


def _withholds(error: RowError, found: dict, channels, days, models) -> bool:
    """Mark the stored row a bad source row would have summed into, so that none of it is imported; False
    when the bad row cannot even be placed (then it withholds nothing)."""
    if error.identity is None:
        return False
    try:
        target = _placed(error.identity, channels, days, models)
    except FieldProblem:
        return False
    found.setdefault(target.key, target).problems.append(error)
    return True


def _add(planned: PlannedUsage, row: SourceRow, target: PlannedUsage) -> None:
    """Sum ``row`` (placed as ``target``) into ``planned``; the first row is ``target`` itself."""
    first = not planned.rows
    planned.rows.append(row.row)
    if row.model_name not in planned.reported:
        planned.reported.append(row.model_name)
    for name in COUNTS:
        planned.counts[name] += getattr(row, name)
    if first:
        return
    if any(planned.counts[name] > STORABLE_COUNT for name in COUNTS):
        planned.problems.append(
            RowError(
                row.row,
                "row",
                _("The rows of this channel, day and model sum to more than can be stored."),
                row.where,
            )
        )
    if target.starts_at != planned.starts_at:
        planned.problems.append(
            RowError(
                row.row,
                "timezone",
                _("Another row of the same channel, day and model is in another time zone."),
                row.where,
            )
        )
    planned.has_cache_counts = planned.has_cache_counts and row.has_cache_counts
    if (planned.cost is None) != (row.cost is None):
        planned.problems.append(
            RowError(
                row.row,
                "cost",
                _("Rows of the same channel, day and model must all have a cost or all have none."),
                row.where,
            )
        )
    elif row.cost is not None:
        if row.currency != planned.currency:
            planned.problems.append(
                RowError(
                    row.row,
                    "currency",
                    _("Rows of the same channel, day and model are in %(a)s and %(b)s: one currency per day.")
                    % {"a": planned.currency, "b": row.currency},
                    row.where,
                )
            )
        else:
            planned.cost += row.cost
            if planned.cost.adjusted() >= STORABLE_COST_DIGITS:
                planned.problems.append(
                    RowError(
                        row.row,
                        "cost",
                        _("The costs of this channel, day and model sum to more than can be stored."),
                        row.where,
                    )
                )


def _withheld(row: int, planned: PlannedUsage, culprits: set[int]) -> RowError:
    return RowError(
        row,
        "row",
        _(
            "Not imported: it sums with row(s) %(rows)s into %(channel)s, %(day)s, %(model)s, and those "
            "are in error."
        )
        % {
            "rows": ", ".join(str(r) for r in sorted(culprits)),
            "channel": planned.channel.name,
            "day": planned.day.isoformat(),
            "model": planned.model_name,
        },
    )


def usage_compare(plan: UsagePlan) -> None:
    """Set each planned row's outcome against what is stored now (run again under lock before writing).

    A planned row is compared with the stored row of its name, else with a stored row of the same catalog
    model under another spelling (whose name it then takes, so the day is not stored twice)."""
    by_channel: dict[int, list[PlannedUsage]] = {}
    for planned in plan.planned:
        planned.model_name = planned.reported[0]
        by_channel.setdefault(planned.channel.pk, []).append(planned)
    for channel_id, planned_rows in by_channel.items():
        by_name, by_model = {}, {}
        for row in VendorUsage.objects.filter(
            channel_id=channel_id,
            day__gte=min(p.day for p in planned_rows),
            day__lte=max(p.day for p in planned_rows),
        ).order_by("pk"):
            by_name[(row.day, row.model_name, row.is_batch, row.vendor_key)] = row
            if row.model_id is not None:
                by_model.setdefault((row.day, row.model_id, row.is_batch, row.vendor_key), row)
        claimed = set()
        for planned in planned_rows:
            planned.existing = by_name.get(
                (planned.day, planned.model_name, planned.is_batch, planned.vendor_key)
            )
            if planned.existing is not None:
                claimed.add(planned.existing.pk)
        for planned in planned_rows:
            if planned.existing is None and planned.model is not None:
                other = by_model.get((planned.day, planned.model.pk, planned.is_batch, planned.vendor_key))
                if other is not None and other.pk not in claimed:
                    claimed.add(other.pk)
                    planned.existing, planned.model_name = other, other.model_name
        for planned in planned_rows:
            existing = planned.existing
            if existing is None:
                planned.outcome, planned.changes = CREATED, {}
                continue
            new = planned.figures()
            planned.changes = {
                name: (getattr(existing, name), new[name])
                for name in FIGURES
                if getattr(existing, name) != new[name]
            }
            planned.outcome = CHANGED if planned.changes else UNCHANGED
