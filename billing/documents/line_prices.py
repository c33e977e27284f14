"""Per token class prices of a usage invoice line, for the invoice PDF and the invoice pages.

The period close stores a usage line with ``unit_price`` None (one line per model mixes token classes
priced differently) and puts the breakdown in ``line.details``: ``tokens`` {class: count},
``unit_prices`` {class: price per million, as text}, both keyed by the catalog's token classes
(``catalog.rating.TOKEN_CLASSES``: "input", "cache_read", …), and ``prices_varied`` (the plan or its
prices changed in the period, or the plan is tiered, so the amount is not simply tokens × the prices shown).
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from catalog.rating import TOKEN_CLASS_LABELS, TOKEN_CLASSES


@dataclass(frozen=True)
class ClassPrice:
    token_class: str
    label: str  # translated when shown (a lazy string)
    tokens: int
    unit_price: Decimal | None  # per million tokens; None when the close did not know it


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


def class_prices(line) -> list[ClassPrice]:
    """The token classes a usage line billed (non-zero tokens), in the catalog's order and with its labels
    (translated), with their unit prices."""
    details = line.details if isinstance(line.details, dict) else {}
    if line.kind != "usage" or not details:
        return []
    tokens = details.get("tokens") if isinstance(details.get("tokens"), dict) else {}
    prices = details.get("unit_prices") if isinstance(details.get("unit_prices"), dict) else {}
    known = [cls for cls in TOKEN_CLASSES if cls in tokens or cls in prices]
    others = sorted(set(tokens) - set(TOKEN_CLASSES))  # a class added after this line was billed
    rows = []
    for cls in known + others:
        count = _int(tokens.get(cls))
        if not count:
            continue
        # The label stays lazy: a PDF is translated in its document's language, which rendering switches to.
        label = TOKEN_CLASS_LABELS.get(cls, cls)
        rows.append(ClassPrice(cls, label, count, _decimal(prices.get(cls))))
    return rows


def with_class_prices(lines) -> list:
    """``lines`` as a list, each with ``class_prices`` and ``prices_varied`` set for the templates."""
    out = list(lines)
    for line in out:
        line.class_prices = class_prices(line)
        details = line.details if isinstance(line.details, dict) else {}
        line.prices_varied = bool(details.get("prices_varied")) and bool(line.class_prices)
    return out
