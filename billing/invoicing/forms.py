"""Forms of the service-charge and period-close pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.invoicing.models import ServiceCharge
from billing.invoicing.periods import PeriodError, period_parse
from billing.ledger.selectors import Book, book_find, books_list
from billing.money import MONEY_FIELD
from billing.terms.models import CREDIT_MODES


class ServiceChargeForm(forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    description = forms.CharField(label=_("Description"), max_length=300)
    amount = forms.DecimalField(label=_("Amount"), **MONEY_FIELD, min_value=0.01)
    recurrence = forms.ChoiceField(label=_("Recurrence"), choices=ServiceCharge.Recurrence.choices)
    starts_on = forms.DateField(
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("One-off: the day it is billed for."),
    )
    ends_on = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, customers=None, **kwargs):
        super().__init__(*args, **kwargs)
        queryset = customers if customers is not None else Customer.objects.all()
        self.fields["customer"].queryset = queryset.filter(billing_terms__mode__in=CREDIT_MODES).order_by(
            "name"
        )


class PeriodCloseForm(forms.Form):
    period = forms.CharField(
        label=_("Period"), max_length=7, help_text=_("2026-10 (a month) or 2026-Q3 (a quarter).")
    )
    book = forms.ChoiceField(
        label=_("Book"),
        required=False,
        help_text=_("Every book, or only the customers sold in one: the operator's or a reseller's."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["book"].choices = [("", _("Every book"))] + [
            (b.key, b.choice_label) for b in books_list()
        ]

    def clean_book(self) -> Book | None:
        """The book chosen, or None for every book (the choices refuse any other key)."""
        key = self.cleaned_data.get("book")
        return book_find(key) if key else None

    def clean_period(self):
        try:
            return period_parse(self.cleaned_data["period"]).label
        except PeriodError as exc:
            raise forms.ValidationError(str(exc)) from exc
