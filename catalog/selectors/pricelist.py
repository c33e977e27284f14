"""A plan's prices for every model, for the price list pages and their CSV export."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from accounts.models import Customer
from catalog.errors import PricingError
from catalog.models import AIModel, PriceBook, SellPlan
from catalog.rating import TOKEN_CLASSES
from catalog.selectors.models import active_models
from catalog.selectors.pricing import PricingSnapshot, plan_for_customer
from common.csv_export import csv_text

CSV_COLUMNS = (
    "vendor",
    "model",
    "tier_lo",
    "tier_hi",
    *TOKEN_CLASSES,
    "batch_input",
    "batch_output",
    "request_fee",
    "currency",
    "basis",
    "effective_from",
)


def decimal_text(value: Decimal | None) -> str:
    """Full precision without trailing zeros or exponent notation: 2.500000000000 → 2.5."""
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text


@dataclass(frozen=True)
class PriceListRow:
    model: AIModel
    tier_lo: int | None = None
    tier_hi: int | None = None
    prices: tuple[Decimal, ...] = ()
    batch_input: Decimal | None = None
    batch_output: Decimal | None = None
    request_fee: Decimal | None = None
    basis: str = ""
    effective_from: datetime | None = None
    unavailable: str = ""

    @property
    def tier_label(self) -> str:
        if self.tier_lo is None:
            return ""
        return f"({self.tier_lo}, ∞)" if self.tier_hi is None else f"({self.tier_lo}, {self.tier_hi}]"

    @property
    def price_cells(self) -> list[str]:
        return [decimal_text(p) for p in self.prices]


def price_list(plan: SellPlan | PriceBook, at: datetime) -> list[PriceListRow]:
    """Return one row per model and tier under ``plan`` at ``at`` (unavailable models flagged)."""
    snapshot = PricingSnapshot(at)
    rows: list[PriceListRow] = []
    for model in active_models():
        try:
            price = (
                snapshot.plan_price(plan, model)
                if isinstance(plan, SellPlan)
                else snapshot.book_price(plan, model)
            )
        except PricingError as exc:  # no price, no rate, or (a retail plan) no buy plan
            rows.append(PriceListRow(model=model, unavailable=exc.message))
            continue
        sell = price.sell
        for index, tier in enumerate(sell.tiers):
            batch = sell._batch[index]
            rows.append(
                PriceListRow(
                    model=model,
                    tier_lo=tier.lo,
                    tier_hi=tier.hi,
                    prices=sell._standard[index],
                    batch_input=batch[0],
                    batch_output=batch[4],
                    request_fee=sell.request_fee,
                    basis=sell.basis,
                    effective_from=sell.effective_from,
                )
            )
    return rows


def customer_price_list(customer: Customer, at: datetime) -> tuple[SellPlan, str, list[PriceListRow]]:
    plan, source = plan_for_customer(customer, at)
    return plan, source, price_list(plan, at)


def _exact(value: Decimal | None) -> Decimal | None:
    # Without trailing zeros, like decimal_text, but still a number so the CSV writes it as one.
    return None if value is None else value.normalize()


def price_list_csv(rows: list[PriceListRow], currency: str, *, include_basis: bool = True) -> str:
    """Return the priced rows as CSV (per million tokens, full precision); unavailable ones left out.

    ``include_basis=False`` drops the column saying how a price derives (e.g. "cost × 1.25"),
    which customers must not see.
    """
    columns = [c for c in CSV_COLUMNS if include_basis or c != "basis"]
    table = [columns]
    for row in rows:
        if row.unavailable:
            continue
        table.append(
            [
                row.model.vendor.name,
                row.model.name,
                row.tier_lo,
                row.tier_hi,
                *(_exact(p) for p in row.prices),
                _exact(row.batch_input),
                _exact(row.batch_output),
                _exact(row.request_fee),
                currency,
                *([row.basis] if include_basis else []),
                row.effective_from.isoformat() if row.effective_from else "",
            ]
        )
    return csv_text(table)
