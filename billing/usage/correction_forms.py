"""The form of the usage re-rating page: which customer, model and days, and why."""

import uuid
from datetime import timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from catalog.models import AIModel
from common.days import local_midnight
from common.forms import BootstrapFormMixin


class UsageCorrectionForm(BootstrapFormMixin, forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    model = forms.ModelChoiceField(label=_("Model"), queryset=AIModel.objects.order_by("name"))
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(
        label=_("Until"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Inclusive; days in the operator's time zone."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, customers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = (
            customers if customers is not None else Customer.objects.none()
        ).order_by("name")
        self.initial.setdefault("idempotency_key", f"usage-correction-form:{uuid.uuid4()}")

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The last day must not be before the first."))
        return data

    @property
    def span(self):
        """``[since, until)``: the chosen days from the first one's midnight to the day after the last."""
        data = self.cleaned_data
        return local_midnight(data["date_from"]), local_midnight(data["date_to"] + timedelta(days=1))
