import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.allowances.selectors import packs_offered, plans_offered
from common.forms import BootstrapFormMixin


class PackSellForm(BootstrapFormMixin, forms.Form):
    pack = forms.ModelChoiceField(label=_("Pack"), queryset=packs_offered())
    # Generated when the form is shown, so a double submit sells once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].initial = f"sale:{uuid.uuid4()}"


class SubscriptionStartForm(BootstrapFormMixin, forms.Form):
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=plans_offered())
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts_on"].initial = timezone.localdate()


class SubscriptionCancelForm(BootstrapFormMixin, forms.Form):
    ends_on = forms.DateField(
        label=_("Last day"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Included; months already charged stay charged."),
    )


class PortalBuyForm(forms.Form):
    """What a portal user buys: one pack or one plan (by id), checked against what is offered."""

    pack = forms.ModelChoiceField(queryset=packs_offered(), required=False)
    plan = forms.ModelChoiceField(queryset=plans_offered(), required=False)
    idempotency_key = forms.CharField(max_length=100, required=False)

    def clean(self):
        data = super().clean()
        if bool(data.get("pack")) == bool(data.get("plan")):
            raise forms.ValidationError(_("Choose one pack or one plan."))
        return data
