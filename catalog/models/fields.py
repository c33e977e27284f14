"""Field shapes shared by the catalog's money columns, so every price is stored alike."""

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# Per-million prices: a per-token price of 1e-9 is 0.001 per million, so twelve places keep
# sub-nano per-token prices exact. An import with more places is refused, never rounded.
PRICE_DIGITS = {"max_digits": 24, "decimal_places": 12}
# Markups, discounts, multipliers and margin floors: fractions such as 0.055 (5.5%).
FRACTION_DIGITS = {"max_digits": 9, "decimal_places": 6}

currency_validator = RegexValidator(r"^[A-Z]{3}$", _("Use a three-letter ISO 4217 code such as CNY or USD."))

PER_MILLION_HELP = _("Per million tokens, in the price book's currency; full precision, not rounded.")


def price_field(verbose_name, *, required: bool = True, help_text=PER_MILLION_HELP) -> models.DecimalField:
    """Return a per-million-token price column; optional ones fall back as their help text says."""
    return models.DecimalField(
        verbose_name,
        **PRICE_DIGITS,
        null=not required,
        blank=not required,
        validators=[MinValueValidator(0)],
        help_text=help_text,
    )


def currency_field(verbose_name=None) -> models.CharField:
    return models.CharField(
        verbose_name or _("currency"),
        max_length=3,
        validators=[currency_validator],
        help_text=_("ISO 4217 code."),
    )
