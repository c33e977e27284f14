"""Forms of the commission pages: settle a statement's commission; issue a month's statements."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.chain.models import CommissionSettlement
from billing.invoicing.periods import PeriodError, period_parse


class SettleForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=21, decimal_places=3)
    method = forms.ChoiceField(label=_("Method"), choices=CommissionSettlement.Method.choices)
    settled_on = forms.DateField(
        label=_("Settled on"), widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    reference = forms.CharField(label=_("Reference"), max_length=200, required=False)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    # A key per form shown: submitting the same form twice records one settlement.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


class IssueForm(forms.Form):
    period = forms.CharField(label=_("Month (YYYY-MM)"), max_length=7)

    def clean_period(self):
        value = self.cleaned_data["period"]
        try:
            period = period_parse(value)
        except PeriodError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if period.is_quarter:
            raise forms.ValidationError(_("Commission statements are monthly: write the month as YYYY-MM."))
        return period
