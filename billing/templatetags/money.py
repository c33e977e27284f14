"""``{{ amount|money }}``: a Decimal with thousands separators, two decimals or more, no lost precision."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def money(value) -> str:
    """Format ``value`` as 1,234.50 or 0.000325: trailing zeros past the second decimal are dropped."""
    if value is None or value == "":
        return "—"
    amount = Decimal(value)
    text = f"{amount:,.12f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


@register.filter
def negate(value):
    return -value if value is not None else None
