"""``{{ amount|money:currency }}``: an amount with thousands separators and its currency's decimals."""

from django import template

from billing.money import money_format

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    """Format ``value`` as 1,234.50 (CNY), 1,234.500 (KWD), 1,234 (JPY) or 0.000325; see money_format."""
    return money_format(value, currency)


@register.filter
def negate(value):
    return -value if value is not None else None
