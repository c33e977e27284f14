"""Hourly and daily rollups, maintained as events land; dashboards and reconciliation read only these.

Rows are added with one upsert per key (``INSERT … ON CONFLICT … DO UPDATE SET x = x + excluded.x``,
which PostgreSQL and SQLite both speak), inside the batch's transaction: the rollups always equal the sum
of the rated events committed with them. Keys are written in order — hourly before daily, each by (bucket,
customer, model, account, sell and cost currency; strings by code point), the order the bulk path's
``ROLLUP_ORDER`` uses too — so concurrent batches touching the same rows queue rather than deadlock.

Window-priced sales (a non-blank ``price_window``: off-peak) are also added, per operator day and window,
to ``UsageWindowDaily`` (keyed like the daily rows, the window last; written after them): the part of
``UsageDaily`` an invoice shows apart from standard hours.

Whatever changes stored rated events (corrections, a channel remap) moves their rollups with
``rollups_move``: the events as they were come out, as they are now go in, by the difference.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from billing.usage.models import TOKEN_COLUMNS, UNIT_COLUMNS, RatingState, UsageEvent

# Every count a rollup row sums: the requests, the six token counts and the image and audio units.
SUM_FIELDS = ("requests", *TOKEN_COLUMNS, *UNIT_COLUMNS)
KEY_FIELDS = ("customer_id", "model_id", "upstream_account", "sell_currency", "cost_currency")
# The rollup tables in the order they are written: (table, bucket column, key columns after the bucket).
TABLES = (
    ("usage_hourly", "hour", KEY_FIELDS),
    ("usage_daily", "day", KEY_FIELDS),
    ("usage_window_daily", "day", (*KEY_FIELDS, "price_window")),
)
_VALUES = (*SUM_FIELDS, "sell_amount", "cost_amount")


def _upsert_sql(table: str, bucket: str, keys: tuple[str, ...]) -> str:
    columns = (bucket, *keys, *_VALUES)
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in _VALUES)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({bucket}, {', '.join(keys)}) DO UPDATE SET {updates}"
    )


def _zeros() -> list:
    return [0] * len(SUM_FIELDS) + [Decimal(0), Decimal(0)]


def rollup_sums(events: Iterable[UsageEvent]) -> tuple[dict, dict, dict]:
    """Return the hourly, daily and window daily sums of the *rated* events (in ``TABLES`` order), each
    keyed by (bucket, *its key columns), valued in ``(*SUM_FIELDS, sell_amount, cost_amount)`` order."""
    hourly: dict[tuple, list] = defaultdict(_zeros)
    daily: dict[tuple, list] = defaultdict(_zeros)
    windows: dict[tuple, list] = defaultdict(_zeros)
    for e in events:
        if e.rating_state != RatingState.RATED:
            continue
        at = e.occurred_at.astimezone(UTC)
        key = (e.customer_id, e.model_id, e.upstream_account, e.sell_currency, e.cost_currency)
        values = (
            1,
            *(getattr(e, c) for c in TOKEN_COLUMNS),
            *(getattr(e, c) for c in UNIT_COLUMNS),
            e.sell_amount or Decimal(0),
            e.cost_amount or Decimal(0),
        )
        day = timezone.localtime(at).date()
        rows = [hourly[(at.replace(minute=0, second=0, microsecond=0), *key)], daily[(day, *key)]]
        if e.price_window:
            rows.append(windows[(day, *key, e.price_window)])
        for row in rows:
            for i, value in enumerate(values):
                row[i] += value
    return hourly, daily, windows


def _write(tables: Iterable[dict]) -> None:
    """Add each table's sums (``rollup_sums``' form; negative: taken off) to its rows, in key order;
    drop the rows a negative sum leaves without a request (all their events moved elsewhere)."""
    adapt = {"hour": connection.ops.adapt_datetimefield_value, "day": connection.ops.adapt_datefield_value}
    with connection.cursor() as cursor:
        for (table, bucket, keys), sums in zip(TABLES, tables, strict=True):
            # The bucket goes in as the ORM writes it (on SQLite naive UTC text; a raw aware datetime would
            # be stored with "+00:00" and no ORM lookup of that hour would match it again).
            rows = [(adapt[bucket](k[0]), *k[1:], *v) for k, v in sorted(sums.items()) if any(v)]
            if not rows:
                continue
            cursor.executemany(_upsert_sql(table, bucket, keys), rows)
            emptied = [row[: len(keys) + 1] for row in rows if row[len(keys) + 1] < 0]
            if emptied:
                match = " AND ".join(f"{c} = %s" for c in (bucket, *keys))
                cursor.executemany(f"DELETE FROM {table} WHERE {match} AND requests = 0", emptied)


def rollups_add(*, events: Iterable[UsageEvent]) -> int:
    """Add the rated ``events`` to the hourly, daily and window rollups; return how many rows changed."""
    tables = rollup_sums(events)
    _write(tables)
    return sum(len(sums) for sums in tables)


def rollups_move(*, before: Iterable[UsageEvent], after: Iterable[UsageEvent]) -> None:
    """Replace, in the rollups, the stored events as they were (``before``: as rolled up) by the same
    events as they are now (``after``): only the difference is written, so an event whose amounts change
    shifts its rows' amounts, and one whose key or window changes leaves its row for another."""
    gone = rollup_sums(before)
    tables = rollup_sums(after)
    for sums, minus in zip(tables, gone, strict=True):
        for key, values in minus.items():
            row = sums[key]
            for i, value in enumerate(values):
                row[i] -= value
    _write(tables)
