"""How pages show amounts and counts.

- ``{{ amount|money:currency }}``: rounded to the currency's minor unit with thousands separators
  (1,324.31 CNY, 1,235 JPY); where the stored amount has more places, the exact figure is on hover
  (``title``). What people read on screen and in documents.
- ``{{ price|money_exact:currency }}``: every place the amount has (at least the currency's): unit prices
  (0.000325 per token) and ledger detail where the exact figure is the point.
- ``{{ amount|money_rounded:currency }}``: the rounded figure as plain text, no separators or markup (for
  attributes and figures inside sentences).
- ``{{ count|quantity }}``: a count (tokens, requests) as an integer with separators: 1,635,884.
"""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.html import format_html

from billing.money import money_format, quantize_money
from common.currencies import amount_display

register = template.Library()


@register.filter
def money(value, currency: str = ""):
    """``value`` rounded to ``currency``'s minor unit, with separators; the exact amount on hover when it
    has more places than that."""
    shown = amount_display(value, currency)
    if value is None or value == "":
        return shown
    exact = money_format(value, currency)
    if exact == shown:
        return shown
    label = f"{exact} {currency}".strip()
    return format_html('<span class="money" title="{}">{}</span>', label, shown)


@register.filter
def money_exact(value, currency: str = "") -> str:
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
def quantity(value) -> str:
    """A count as an integer with thousands separators (1,635,884, not 1,635,884.00); a dash for none. A
    quantity that is not whole (12.5 seconds on an invoice line) keeps its places: 12.5."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    if number == number.to_integral_value():
        return f"{number.to_integral_value():,}"
    return f"{number.normalize():,f}"


@register.filter
def negate(value):
    return -value if value is not None else None
