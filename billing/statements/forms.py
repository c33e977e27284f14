"""The period picker shared by statement and export pages: a month, a quarter or a custom range."""

import calendar
import datetime as dt
import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.ledger.selectors import OPERATOR_BOOK, Book, book_find, books_list

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
MAX_DAYS = 3 * 366  # a statement longer than three years is a mistake, not a request


def month_range(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def previous_month(today: dt.date | None = None) -> str:
    today = today or timezone.localdate()
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first:%Y-%m}"


class PeriodForm(forms.Form):
    """``period`` says whether month, quarter or from/to applies; cleaned_data gains date_from/date_to."""

    PERIODS = (("month", _("Month")), ("quarter", _("Quarter")), ("custom", _("Custom range")))

    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, initial="month")
    month = forms.CharField(
        label=_("Month"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-10"}),
    )
    quarter = forms.CharField(
        label=_("Quarter"), required=False, widget=forms.TextInput(attrs={"placeholder": "2026-Q3"})
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean(self):
        data = super().clean()
        kind = data.get("period")
        if kind == "month":
            match = _MONTH.match((data.get("month") or "").strip())
            if not match or not 1 <= int(match[2]) <= 12:
                self.add_error("month", _("Enter a month as YYYY-MM, e.g. 2026-10."))
                return data
            data["date_from"], data["date_to"] = month_range(int(match[1]), int(match[2]))
        elif kind == "quarter":
            match = _QUARTER.match((data.get("quarter") or "").strip())
            if not match:
                self.add_error("quarter", _("Enter a quarter as YYYY-Qn, e.g. 2026-Q3."))
                return data
            first_month = (int(match[2]) - 1) * 3 + 1
            data["date_from"] = month_range(int(match[1]), first_month)[0]
            data["date_to"] = month_range(int(match[1]), first_month + 2)[1]
        elif kind == "custom":
            if not data.get("date_from"):
                self.add_error("date_from", _("Enter the first day of the range."))
            if not data.get("date_to"):
                self.add_error("date_to", _("Enter the last day of the range."))
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if start > end:
                self.add_error("date_to", _("The range ends before it starts."))
            elif (end - start).days > MAX_DAYS:
                self.add_error("date_to", _("Choose a range of at most three years."))
        return data

    @property
    def dates(self) -> tuple[dt.date, dt.date]:
        return self.cleaned_data["date_from"], self.cleaned_data["date_to"]


class StaffStatementForm(PeriodForm):
    customer = forms.ModelChoiceField(
        label=_("Customer"), queryset=Customer.objects.order_by("name"), empty_label=_("Choose a customer")
    )

    field_order = ["customer", "period", "month", "quarter", "date_from", "date_to"]


class ExportForm(PeriodForm):
    """A period and the book its accountant exports read: the operator's or a resale sub-distributor's."""

    book = forms.ChoiceField(label=_("Book"), required=False)

    field_order = ["book", "period", "month", "quarter", "date_from", "date_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["book"].choices = [(book.key, book.choice_label) for book in books_list()]

    def clean_book(self) -> Book:
        """The chosen book; blank is the operator's (the choices refuse any other key)."""
        return book_find(self.cleaned_data.get("book")) or OPERATOR_BOOK


def period_initial() -> dict:
    return {"period": "month", "month": previous_month()}
