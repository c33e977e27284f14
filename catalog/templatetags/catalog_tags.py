"""Show catalog decimals at full precision without trailing zeros or exponent notation."""

from decimal import Decimal

from django import template

from catalog.selectors.pricelist import decimal_text

register = template.Library()


@register.filter
def dec(value) -> str:
    """2.500000000000 → 2.5; None → an em dash."""
    if value is None or value == "":
        return "—"
    return decimal_text(value if isinstance(value, Decimal) else Decimal(str(value)))


@register.filter
def percent(value) -> str:
    """A fraction as a percentage: 0.125 → 12.5%."""
    if value is None or value == "":
        return "—"
    return f"{decimal_text(Decimal(str(value)) * 100)}%"


@register.filter
def tier_span(tier) -> str:
    hi = getattr(tier, "hi", None)
    return f"({tier.lo}, ∞)" if hi is None else f"({tier.lo}, {hi}]"
