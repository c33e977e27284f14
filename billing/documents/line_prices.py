"""Per token class prices of a usage invoice line, for the invoice PDF, CSV and the invoice pages.

The period close stores a usage line with ``unit_price`` None (one line per model mixes token classes
priced differently) and puts the breakdown in ``line.details``: ``tokens`` {class: count},
``unit_prices`` {class: price per million, as text}, both keyed by the catalog's token classes
(``catalog.rating.TOKEN_CLASSES``: "input", "cache_read", …), ``prices_varied`` (the plan or its prices
changed in the period, or the plan is tiered), and where they apply ``batch_prices`` {class: price per
million} and ``request_fee`` (``billing.invoicing.pricing``).

A line's amount is what was charged, each request at the price in force for it (batch requests at the
batch prices, long prompts at their tier's). The documents print what the unit prices come to (tokens ×
unit prices, rounded to the currency) and a price adjustment row for the difference, so the printed
figures always add up to the amount charged.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from billing.money import quantize_money
from catalog.rating import TOKEN_CLASS_LABELS, TOKEN_CLASSES

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class ClassPrice:
    token_class: str
    label: str  # translated when shown (a lazy string)
    tokens: int
    unit_price: Decimal | None  # per million tokens; None when the close did not know it
    batch_price: Decimal | None = None  # per million tokens, what batch requests pay; None: no batch price


@dataclass(frozen=True)
class PriceCheck:
    """How a usage line's amount follows from its tokens: ``at_unit_prices`` (tokens × the unit prices
    shown, rounded to the currency) plus ``adjustment`` is the line's amount, to the last digit."""

    at_unit_prices: Decimal
    adjustment: Decimal
    reasons: tuple  # lazy strings: what makes the charged amount differ from the unit prices

    @property
    def reason_text(self) -> str:
        return ", ".join(str(r) for r in self.reasons)


def _decimal(value) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _dict(details: dict, key: str) -> dict:
    value = details.get(key)
    return value if isinstance(value, dict) else {}


def _details(line) -> dict:
    return line.details if isinstance(line.details, dict) else {}


def class_prices(line) -> list[ClassPrice]:
    """The token classes a usage line billed (non-zero tokens), in the catalog's order and with its labels
    (translated), with their unit prices (and batch prices, where the plan has them)."""
    details = _details(line)
    if line.kind != "usage" or not details:
        return []
    tokens, prices, batch = (
        _dict(details, "tokens"),
        _dict(details, "unit_prices"),
        _dict(details, "batch_prices"),
    )
    known = [cls for cls in TOKEN_CLASSES if cls in tokens or cls in prices]
    others = sorted(set(tokens) - set(TOKEN_CLASSES))  # a class added after this line was billed
    rows = []
    for cls in known + others:
        count = _int(tokens.get(cls))
        if not count:
            continue
        # The label stays lazy: a PDF is translated in its document's language, which rendering switches to.
        label = TOKEN_CLASS_LABELS.get(cls, cls)
        rows.append(ClassPrice(cls, label, count, _decimal(prices.get(cls)), _decimal(batch.get(cls))))
    return rows


def _reasons(details: dict, rows: list[ClassPrice]) -> tuple:
    reasons = []
    if any(r.batch_price is not None and r.batch_price != r.unit_price for r in rows):
        reasons.append(_("batch requests at the batch prices"))
    if details.get("prices_varied"):
        reasons.append(_("price changes or context tiers"))
    if _decimal(details.get("request_fee")):
        reasons.append(_("fees per request"))
    if details.get("previously_billed") or not reasons:
        reasons.append(_("usage rated at the prices in force when it happened"))
    return tuple(reasons)


def price_check(line, rows: list[ClassPrice], currency: str) -> PriceCheck | None:
    """What ``rows`` come to at their unit prices and the adjustment to the line's amount; None when a
    unit price is unknown (nothing to reconcile) or the line is not a usage line."""
    if not rows or any(r.unit_price is None for r in rows):
        return None
    at_prices = quantize_money(sum((r.unit_price * r.tokens / MILLION for r in rows), Decimal(0)), currency)
    return PriceCheck(at_prices, line.amount - at_prices, _reasons(_details(line), rows))


def with_class_prices(lines) -> list:
    """``lines`` as a list, each with ``class_prices``, ``has_batch_prices``, ``price_check`` and
    ``prices_varied`` set for the templates."""
    out = list(lines)
    for line in out:
        line.class_prices = class_prices(line)
        line.has_batch_prices = any(r.batch_price is not None for r in line.class_prices)
        line.price_check = price_check(line, line.class_prices, line.invoice.currency)
        line.prices_varied = bool(_details(line).get("prices_varied")) and bool(line.class_prices)
    return out
