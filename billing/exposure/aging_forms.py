"""The aging report's query: the as-of date (any past day, or up to a year ahead) and the page's filters."""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.exposure.aging_report import SORTS
from common.forms import bootstrap_style

EARLIEST = dt.date(2000, 1, 1)
# A later as-of date is a projection of today's open items, not a report: further than this is a mistake.
MAX_DAYS_AHEAD = 366
GROUPS = (("customer", _("Customer")), ("sub_distributor", _("Sub-distributor")))


def as_of_check(day: dt.date) -> dt.date:
    """Return ``day`` if the report can be taken at it, else raise ValidationError saying why."""
    latest = timezone.localdate() + dt.timedelta(days=MAX_DAYS_AHEAD)
    if day < EARLIEST:
        raise ValidationError(
            _("The as-of date must be on or after %(day)s."), params={"day": EARLIEST.isoformat()}
        )
    if day > latest:
        raise ValidationError(
            _("The as-of date must be on or before %(day)s (a year from today)."),
            params={"day": latest.isoformat()},
        )
    return day


class AsOfField(forms.DateField):
    widget = forms.DateInput(attrs={"type": "date"})

    def clean(self, value):
        day = super().clean(value)
        return as_of_check(day) if day else day


def resale_books():
    return Customer.objects.filter(
        kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode=Customer.ChainMode.RESALE
    ).order_by("name")


class AgingForm(forms.Form):
    """The page's filters; every field optional (an empty as-of date is today)."""

    as_of = AsOfField(label=_("As of"), required=False)
    group = forms.ChoiceField(label=_("Group by"), choices=GROUPS, required=False)
    currency = forms.CharField(label=_("Currency"), max_length=3, required=False)
    q = forms.CharField(label=_("Customer"), max_length=100, required=False)
    book = forms.ModelChoiceField(
        label=_("Book"),
        queryset=resale_books(),
        required=False,
        empty_label=_("The operator's book"),
        help_text=_("A resale sub-distributor's book holds the invoices of the customers it bills itself."),
    )
    o = forms.ChoiceField(
        required=False, choices=[(s, s) for s in SORTS] + [(f"-{s}", f"-{s}") for s in SORTS]
    )

    def __init__(self, *args, with_book: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_book:
            del self.fields["book"]
        bootstrap_style(self.fields.values())
        for field in self.fields.values():
            css = field.widget.attrs["class"]
            field.widget.attrs["class"] = f"{css} {css}-sm"

    def clean_currency(self):
        value = self.cleaned_data["currency"].strip().upper()
        if value and not (len(value) == 3 and value.isalpha() and value.isascii()):
            raise ValidationError(_("A currency is three letters, such as CNY or USD."))
        return value

    def clean_q(self):
        value = self.cleaned_data["q"]
        if any(not ch.isprintable() for ch in value):
            raise ValidationError(_("Remove the control characters from the search."))
        return value.strip()
