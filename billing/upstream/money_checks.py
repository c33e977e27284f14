"""The one check of an amount typed or imported on the upstream side: a Decimal, positive, in minor units."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from billing.money import currency_exponent, is_money


def amount_check(amount, currency: str, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """Return ``amount`` when it is a finite Decimal above zero (or zero, with ``allow_zero``) with no more
    decimal places than ``currency`` has; else raise ValidationError on ``field``."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValidationError({field: _("Enter the amount as a decimal number.")})
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationError({field: _("The amount must be greater than zero.")})
    if not is_money(amount, currency):
        raise ValidationError(
            {
                field: _("Enter the amount with at most %(places)s decimal places.")
                % {"places": currency_exponent(currency)}
            }
        )
    return amount
