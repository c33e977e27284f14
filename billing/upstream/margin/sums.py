"""One SQL statement per report: rollups summed per row key × currencies, with their base-currency value.

Converting row by row would look up a rate for every rollup row in another currency (a quarter of a few
hundred customers is ~100,000 rows: three times the cost of the plain sums). The rate only depends on the
currency and the day, so the rollups are first summed per key × day × currencies (the inner query, built
by the ORM with every filter of the report), and the rate is looked up once per such group — a handful
per day for a vendor or model report. Same rule as ``catalog.selectors.fx.fx_rate``: the latest rate on
or before the day, in the entered direction only; a group with no rate adds to ``*_unconverted``
instead, never to the base sums.
"""

from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce

from billing.usage.models import UsageDaily
from billing.usage.selectors import money_sum
from catalog.models import FxRate

SUMS = ("n", "revenue", "cost", "revenue_base", "cost_base", "revenue_unconverted", "cost_unconverted")


def _rate(currency: str) -> str:
    """SQL: the rate turning group ``g``'s ``currency`` column into the base currency on its day."""
    return (
        f"(SELECT f.rate FROM {connection.ops.quote_name(FxRate._meta.db_table)} f "
        f"WHERE f.base = g.{currency} AND f.quote = %s AND f.date <= g.day ORDER BY f.date DESC LIMIT 1)"
    )


def _native(currency: str) -> str:
    return f"g.{currency} IN (%s, '')"


def grouped_rows(rows: QuerySet[UsageDaily], keys: tuple[str, ...]) -> list[dict]:
    """``rows`` summed per ``keys`` × sell currency × cost currency: requests (``n``), the amounts as
    recorded, their base-currency value at each day's rate, and what no rate converts (full precision)."""
    inner = (
        rows.order_by()
        .values(*keys, "day", "sell_currency", "cost_currency")
        .annotate(
            n=Coalesce(Sum("requests"), 0), revenue=money_sum("sell_amount"), cost=money_sum("cost_amount")
        )
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    base = settings.BASE_CURRENCY
    names = (*keys, "sell_currency", "cost_currency")
    columns = ", ".join(f"g.{connection.ops.quote_name(k)}" for k in names)
    sell_native, cost_native = _native("sell_currency"), _native("cost_currency")
    sell_rate, cost_rate = _rate("sell_currency"), _rate("cost_currency")
    sql = (
        f"SELECT {columns}, SUM(g.n), SUM(g.revenue), SUM(g.cost), "
        f"SUM(CASE WHEN {sell_native} THEN g.revenue ELSE g.revenue * {sell_rate} END), "
        f"SUM(CASE WHEN {cost_native} THEN g.cost ELSE g.cost * {cost_rate} END), "
        f"SUM(CASE WHEN {sell_native} OR {sell_rate} IS NOT NULL THEN 0 ELSE g.revenue END), "
        f"SUM(CASE WHEN {cost_native} OR {cost_rate} IS NOT NULL THEN 0 ELSE g.cost END) "
        f"FROM ({inner_sql}) g GROUP BY {columns}"
    )
    params = [*[base] * 8, *inner_params]  # the select list's placeholders come before the inner query's
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    out = []
    for values in found:
        row = dict(zip((*names, *SUMS), values, strict=True))
        row["n"] = int(row["n"] or 0)
        for name in SUMS[1:]:
            row[name] = Decimal(row[name] or 0)
        out.append(row)
    return out
