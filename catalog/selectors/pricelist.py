"""A plan's prices for every model, for the price list pages, their CSV export and PDF.

Per model: a row per context tier of the standard prices, then a row per service tier (flex, priority)
and per time-of-day window (its label, hours, zone and the prices in force then, blanks resolved to the
standard ones). The CSV adds the columns for service tiers, windows and audio/image prices only when some
model has them.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from accounts.models import Customer
from catalog.errors import PricingError
from catalog.models import AIModel, PriceBook, SellPlan
from catalog.rating import TOKEN_CLASSES, UNIT_CLASSES, TimeWindow
from catalog.selectors.models import active_models
from catalog.selectors.pricing import PricingSnapshot, plan_for_customer
from catalog.time_windows import hhmm, rule_label, window_label
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
SERVICE_TIER_COLUMNS = ("service_tier",)
WINDOW_COLUMNS = ("window", "window_hours", "window_time_zone")
STANDARD, SERVICE_TIER, WINDOW = "", "service_tier", "window"


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
    # STANDARD, SERVICE_TIER (``label`` its name) or WINDOW (``label``, ``hours`` for people, ``zone``).
    kind: str = STANDARD
    label: str = ""
    hours: str = ""
    zone: str = ""
    # Audio input and output per million tokens, per image, per audio second (UNIT_CLASSES order).
    units: tuple[Decimal | None, ...] = ()

    @property
    def has_units(self) -> bool:
        return any(u is not None for u in self.units)

    @property
    def unit_cells(self) -> list[str]:
        return [decimal_text(u) for u in self.units] if self.units else ["", "", "", ""]

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
        rows += _model_rows(model, price.sell)
    return rows


def window_hours(window: TimeWindow) -> str:
    """A window's hours for people, in the active language: "Mon–Fri 18:00–08:00; Sat, Sun all day"."""
    return "; ".join(
        rule_label(
            {
                "weekdays": [d for d in range(1, 8) if mask & 1 << (d - 1)],
                "start": hhmm(start),
                "end": hhmm(end),
            }
        )
        for mask, start, end in window.rules
    )


def _units(tier) -> tuple[Decimal | None, ...]:
    units = tuple(getattr(tier, name) for name in UNIT_CLASSES)
    return units if any(u is not None for u in units) else ()


def _model_rows(model: AIModel, sell) -> list[PriceListRow]:
    common = {
        "model": model,
        "request_fee": sell.request_fee,
        "basis": sell.basis,
        "effective_from": sell.effective_from,
    }
    rows = []
    for index, tier in enumerate(sell.tiers):
        batch = sell._batch[index]
        rows.append(
            PriceListRow(
                tier_lo=tier.lo,
                tier_hi=tier.hi,
                prices=sell._standard[index],
                batch_input=batch[0],
                batch_output=batch[4],
                units=_units(tier),
                **common,
            )
        )
    for name, tiers in sell.service_tiers:
        for tier in tiers:
            rows.append(
                PriceListRow(
                    tier_lo=tier.lo,
                    tier_hi=tier.hi,
                    prices=tier.standard_prices(),
                    units=_units(tier),
                    kind=SERVICE_TIER,
                    label=name,
                    **common,
                )
            )
    for window in sell.windows:
        hours = window_hours(window)
        for tier in sell.tiers:
            rows.append(
                PriceListRow(
                    tier_lo=tier.lo,
                    tier_hi=tier.hi,
                    prices=window.over(tier).standard_prices(),
                    kind=WINDOW,
                    label=window.label,
                    hours=hours,
                    zone=window.zone,
                    **common,
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
    priced = [row for row in rows if not row.unavailable]
    tiers = any(row.kind == SERVICE_TIER for row in priced)
    windows = any(row.kind == WINDOW for row in priced)
    units = any(row.has_units for row in priced)
    columns += [*(SERVICE_TIER_COLUMNS if tiers else ()), *(WINDOW_COLUMNS if windows else ())]
    columns += list(UNIT_CLASSES) if units else []
    table = [columns]
    for row in priced:
        extra = [row.label if row.kind == SERVICE_TIER else ""] if tiers else []
        if windows:
            shown = [str(window_label(row.label)), row.hours, row.zone]
            extra += shown if row.kind == WINDOW else ["", "", ""]
        if units:
            extra += [_exact(u) for u in row.units] if row.units else ["", "", "", ""]
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
                row.effective_from,
                *extra,
            ]
        )
    return csv_text(table)
