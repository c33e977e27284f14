"""The ECL page's forms: the provision matrix, the day of the preview (or of a posting), the runs' filters."""

import datetime as dt

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from billing.exposure.ecl import EclInputError, as_of_check
from billing.exposure.models import EclMatrix, EclRun
from common.filters import StyledFilterSet
from common.forms import BootstrapFormMixin

MATRIX_FIELDS = [
    "method",
    "rate_current",
    "rate_1_30",
    "rate_31_60",
    "rate_61_90",
    "rate_over_90",
    "forward_adjustment",
    "round_whole",
    "history_months",
]


class EclMatrixForm(BootstrapFormMixin, forms.ModelForm):
    """The matrix in force; rates in percent (0–100), the model's validators name the field at fault."""

    class Meta:
        model = EclMatrix
        fields = MATRIX_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in MATRIX_FIELDS[1:6]:
            self.fields[name].widget.attrs.update({"min": "0", "max": "100", "step": "any"})
            self.fields[name].help_text = _("Percent, 0–100.")


class AsOfField(forms.DateField):
    widget = forms.DateInput(attrs={"type": "date"})

    def clean(self, value):
        day = super().clean(value)
        if day is None:
            return day
        try:
            return as_of_check(day)
        except EclInputError as exc:
            raise forms.ValidationError(exc.message) from None


class EclAsOfForm(BootstrapFormMixin, forms.Form):
    """The day to measure at (the preview) or to post as of; empty is today."""

    as_of = AsOfField(label=_("As of"), required=False)

    def day(self, today: dt.date) -> dt.date:
        return self.cleaned_data.get("as_of") or today


class EclPostForm(forms.Form):
    """The button: the day is required, so a posting always says which day it books."""

    as_of = AsOfField(label=_("As of"))


class EclRunFilter(StyledFilterSet):
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    origin = django_filters.ChoiceFilter(label=_("Origin"), choices=EclRun.Origin.choices)
    after = django_filters.DateFilter(
        label=_("As of from"),
        field_name="as_of",
        lookup_expr="gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    before = django_filters.DateFilter(
        label=_("As of to"),
        field_name="as_of",
        lookup_expr="lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    o = django_filters.OrderingFilter(
        fields=(
            ("as_of", "as_of"),
            ("currency", "currency"),
            ("total", "total"),
            ("change", "change"),
            ("created_at", "created"),
        )
    )

    class Meta:
        model = EclRun
        fields = ["currency", "origin", "after", "before"]
