"""The margin-per-hop report's filters: a month, a currency, and optionally one seller's book."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.chain.report import EVERY_BOOK, OPERATOR, report_currencies
from billing.invoicing.periods import Period, PeriodError, local_day, period_of_day, period_parse


class HopReportForm(forms.Form):
    """Bound to the query string; every field may be left out (this month, the busiest currency, every
    seller the reader may see). ``within``: the sub-distributor reading its own report (None: staff)."""

    period = forms.CharField(
        label=_("Month"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-10"}),
    )
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    book = forms.ChoiceField(label=_("Seller"), required=False)

    def __init__(self, data=None, *, within: Customer | None = None):
        super().__init__(data)
        self.within = within
        sellers = Customer.objects.filter(
            kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode=Customer.ChainMode.RESALE
        ).order_by("path")
        books = [("", _("every seller"))]
        if within is None:
            books.append((OPERATOR, settings.OPERATOR_NAME))
        else:
            sellers = sellers.filter(path__startswith=within.path)
        books += [(str(c.pk), c.name) for c in sellers]
        self.fields["book"].choices = books
        for field in self.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if select else "form-control form-control-sm"
            )
        period = self._period_or_default()
        self.currencies = report_currencies(period, within=within, book=self._book_or_every())
        choices = self.currencies or [settings.BASE_CURRENCY]
        self.fields["currency"].choices = [(c, c) for c in choices]

    def _period_or_default(self) -> Period:
        try:
            return period_parse(self.data.get("period") or "")
        except PeriodError:
            return period_of_day(local_day())

    def _book_or_every(self):
        value = self.data.get("book") or ""
        if value == OPERATOR and self.within is None:
            return None
        if value.isdigit() and value in dict(self.fields["book"].choices):
            return Customer.objects.get(pk=int(value))
        return EVERY_BOOK

    def clean_period(self) -> Period:
        value = self.cleaned_data.get("period")
        if not value:
            return period_of_day(local_day())
        try:
            period = period_parse(value)
        except PeriodError as error:
            raise forms.ValidationError(str(error)) from None
        return period

    def clean_currency(self) -> str:
        return self.cleaned_data.get("currency") or self.fields["currency"].choices[0][0]

    def clean_book(self):
        return self._book_or_every()

    def choice(self) -> tuple[Period, str, object]:
        """The period, currency and book to report: the valid choices, defaults for the others."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        period = data.get("period") or self._period_or_default()
        currency = data.get("currency") or self.fields["currency"].choices[0][0]
        book = data["book"] if "book" in data else self._book_or_every()
        return period, currency, book
