"""``{{ amount|money:currency }}``: an amount with thousands separators and its currency's decimals.

``{{ amount|money_rounded:currency }}`` rounds a full-precision figure (a usage report's sums) to the
currency's minor unit instead, without separators.
"""

from decimal import Decimal

from django import template

from billing.money import money_format, quantize_money

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    """Format ``value`` as 1,234.50 (CNY), 1,234.500 (KWD), 1,234 (JPY) or 0.000325; see money_format."""
    return money_format(value, currency)


@register.filter
def money_rounded(value, currency: str) -> str:
    """Round ``value`` to ``currency``'s minor unit, half up: 1234.57 CNY, 1234.568 KWD, 1235 JPY."""
    if value is None or value == "":
        return ""
    rounded = quantize_money(Decimal(value), currency or "")  # no currency (an empty report): two decimals
    return str(abs(rounded) if rounded == 0 else rounded)  # a margin of -0.001 shows 0.00, not -0.00


@register.filter
def negate(value):
    return -value if value is not None else None
