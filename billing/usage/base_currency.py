"""Sales, cost and margin of daily rollups in the operator's base currency (``settings.BASE_CURRENCY``).

Each rollup row is converted at the rate in force on its own day: the latest ``catalog.FxRate`` dated on or
before the day, entered as ``1 sell currency = rate base`` (the entered direction only, as everywhere). Its
cost is first brought into the sell currency as on the usage pages (``cost_in_sell_currency``), so the base
margin is the sum of each day's margin at that day's rate. Rows whose sell currency has no such rate are
left out of the base figures and their currencies listed, never converted at a guess.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DecimalField, F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from billing.usage.models import UsageDaily
from billing.usage.selectors import cost_in_sell_currency, rate_to_base

_AMOUNT = DecimalField(max_digits=60, decimal_places=36)


@dataclass
class BaseCurrencyUsage:
    currency: str
    sell: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    by_model: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def margin(self) -> Decimal:
        return self.sell - self.cost

    @property
    def margin_pct(self) -> Decimal | None:
        return 100 * self.margin / self.sell if self.sell else None


def _sums() -> dict:
    zero = Value(Decimal(0), output_field=_AMOUNT)
    return {
        "sell": Coalesce(Sum(F("sell_amount") * F("base_rate"), output_field=_AMOUNT), zero),
        "cost": Coalesce(Sum(F("cost_in_sell") * F("base_rate"), output_field=_AMOUNT), zero),
    }


def usage_in_base_currency(rows: QuerySet[UsageDaily], *, base: str) -> BaseCurrencyUsage:
    """Totals and per-model figures of ``rows`` converted into ``base`` at each day's rate."""
    converted = rows.order_by().annotate(base_rate=rate_to_base(base), cost_in_sell=cost_in_sell_currency())
    totals = converted.aggregate(**_sums())
    by_model = [
        {**row, "margin": row["sell"] - row["cost"]}
        for row in converted.values("model_id", "model__name", "model__vendor__name")
        .annotate(**_sums())
        .order_by("-sell", "model__name")
    ]
    for row in by_model:
        row["margin_pct"] = 100 * row["margin"] / row["sell"] if row["sell"] else None
    missing = (
        converted.exclude(sell_currency=base)
        .filter(base_rate__isnull=True)
        .values_list("sell_currency", flat=True)
        .distinct()
    )
    return BaseCurrencyUsage(
        currency=base, sell=totals["sell"], cost=totals["cost"], by_model=by_model, missing=sorted(missing)
    )
