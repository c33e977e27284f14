"""Hourly and daily rollups, maintained as events land; dashboards and reconciliation read only these.

Rows are added with one upsert per key (``INSERT … ON CONFLICT … DO UPDATE SET x = x + excluded.x``,
which PostgreSQL and SQLite both speak), inside the batch's transaction: the rollups always equal the sum
of the rated events committed with them. Keys are written in order — hourly before daily, each by (bucket,
customer, model, account, sell and cost currency; strings by code point), the order the bulk path's
``ROLLUP_ORDER`` uses too — so concurrent batches touching the same rows queue rather than deadlock.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from billing.usage.models import TOKEN_COLUMNS, RatingState, UsageEvent

COUNT_FIELDS = ("requests", *TOKEN_COLUMNS)
KEY_FIELDS = ("customer_id", "model_id", "upstream_account", "sell_currency", "cost_currency")


def _upsert_sql(table: str, bucket: str) -> str:
    columns = (bucket, *KEY_FIELDS, *COUNT_FIELDS, "sell_amount", "cost_amount")
    updates = ", ".join(
        f"{c} = {table}.{c} + excluded.{c}" for c in (*COUNT_FIELDS, "sell_amount", "cost_amount")
    )
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({bucket}, {', '.join(KEY_FIELDS)}) DO UPDATE SET {updates}"
    )


def rollup_sums(events: Iterable[UsageEvent]) -> tuple[dict, dict]:
    """Return (hourly, daily) sums of the *rated* events, keyed by (bucket, *KEY_FIELDS)."""
    hourly: dict[tuple, list] = defaultdict(lambda: [0] * len(COUNT_FIELDS) + [Decimal(0), Decimal(0)])
    daily: dict[tuple, list] = defaultdict(lambda: [0] * len(COUNT_FIELDS) + [Decimal(0), Decimal(0)])
    for e in events:
        if e.rating_state != RatingState.RATED:
            continue
        at = e.occurred_at.astimezone(UTC)
        key = (e.customer_id, e.model_id, e.upstream_account, e.sell_currency, e.cost_currency)
        values = (
            1,
            *(getattr(e, c) for c in TOKEN_COLUMNS),
            e.sell_amount or Decimal(0),
            e.cost_amount or Decimal(0),
        )
        for target, bucket in (
            (hourly, at.replace(minute=0, second=0, microsecond=0)),
            (daily, timezone.localtime(at).date()),
        ):
            row = target[(bucket, *key)]
            for i, value in enumerate(values):
                row[i] += value
    return hourly, daily


def rollups_add(*, events: Iterable[UsageEvent]) -> int:
    """Add the rated ``events`` to the hourly and daily rollups; return how many rollup rows changed."""
    hourly, daily = rollup_sums(events)
    # The hour goes in as the ORM writes it (on SQLite naive UTC text; a raw aware datetime would be stored
    # with "+00:00" and no ORM lookup of that hour would match it again).
    hour = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for table, bucket, sums, adapt in (
            ("usage_hourly", "hour", hourly, hour),
            ("usage_daily", "day", daily, connection.ops.adapt_datefield_value),
        ):
            if sums:
                cursor.executemany(
                    _upsert_sql(table, bucket),
                    [(adapt(key[0]), *key[1:], *values) for key, values in sorted(sums.items())],
                )
    return len(hourly) + len(daily)
