"""The currencies the product knows, for forms that choose one: those settings configure, those price
books are kept in, and those exchange rates convert."""

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import FxRate, PriceBook
from common.currencies import ISO_4217, configured_currencies


def known_currencies() -> list[str]:
    """The configured currencies (the base one first), then every other of a price book or an exchange
    rate, alphabetically; only real ISO 4217 codes."""
    configured = configured_currencies()
    used = set(PriceBook.objects.values_list("currency", flat=True))
    for base, quote in FxRate.objects.values_list("base", "quote").distinct():
        used |= {base, quote}
    return [*configured, *sorted(c for c in used if c in ISO_4217 and c not in configured)]


class CurrencyChoiceField(forms.ChoiceField):
    """A choice among currency codes that takes ``cny`` for ``CNY``."""

    def to_python(self, value):
        return super().to_python(value).strip().upper()


def currency_choice_field(**kwargs) -> forms.ChoiceField:
    """A form field choosing one of ``known_currencies`` (read when the form is built)."""
    return CurrencyChoiceField(
        label=kwargs.pop("label", _("Currency")),
        choices=lambda: [(c, c) for c in known_currencies()],
        error_messages={"invalid_choice": _("%(value)s is not a currency this service uses; choose one.")},
        **kwargs,
    )
