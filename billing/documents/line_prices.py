"""Per token class prices of a usage invoice line, for the invoice PDF and the invoice pages.

The period close stores a usage line with ``unit_price`` None (one line per model mixes token classes
priced differently) and puts the breakdown in ``line.details``: ``tokens`` {class: count},
``unit_prices`` {class: price per million, as text} and ``prices_varied`` (the plan or its prices changed
in the period, or the plan is tiered, so the amount is not simply tokens × the prices shown).
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from billing.usage.models import TOKEN_CLASSES

TOKEN_CLASS_LABELS = {
    "prompt_tokens": _("Input"),
    "cache_read_tokens": _("Cache read"),
    "cache_write_tokens": _("Cache write"),
    "cache_write_1h_tokens": _("Cache write (1 h)"),
    "completion_tokens": _("Output"),
    "reasoning_tokens": _("Reasoning"),
}


@dataclass(frozen=True)
class ClassPrice:
    token_class: str
    label: str
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
    """The token classes a usage line billed (non-zero tokens, close order), with their unit prices."""
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
        rows.append(ClassPrice(cls, str(TOKEN_CLASS_LABELS.get(cls, cls)), count, _decimal(prices.get(cls))))
    return rows


def with_class_prices(lines) -> list:
    """``lines`` as a list, each with ``class_prices`` and ``prices_varied`` set for the templates."""
    out = list(lines)
    for line in out:
        line.class_prices = class_prices(line)
        details = line.details if isinstance(line.details, dict) else {}
        line.prices_varied = bool(details.get("prices_varied")) and bool(line.class_prices)
    return out
