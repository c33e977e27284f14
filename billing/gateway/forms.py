"""Forms of the gateway pages: sources, key mappings, manual holds."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.gateway.services import gateway_key_check
from billing.usage.models import GatewayKey, GatewaySource
from common.forms import BootstrapFormMixin
from common.outgoing_webhooks import validate_webhook_url


class GatewaySourceForm(BootstrapFormMixin, forms.ModelForm):
    webhook_url = forms.URLField(
        label=_("Webhook URL"),
        required=False,
        assume_scheme="https",
        validators=[validate_webhook_url],
        help_text=_("Receives signed customer suspended/restored events; public addresses only."),
    )
    webhook_secret = forms.CharField(
        label=_("Webhook secret"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Signs the suspended/restored webhooks (HMAC-SHA256)."),
    )

    class Meta:
        model = GatewaySource
        fields = ["name", "kind", "quota_per_unit", "cost_currency", "webhook_url", "webhook_secret"]

    def clean_cost_currency(self):
        return self.cleaned_data["cost_currency"].strip().upper()


class GatewayKeyForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = GatewayKey
        fields = ["key", "customer", "source", "note"]

    def __init__(self, *args, customers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = (
            customers if customers is not None else Customer.objects.none()
        ).order_by("name")
        self.fields["source"].empty_label = _("Any source")

    def clean(self):
        data = super().clean()
        try:  # on the key field, before the database constraints word a clash their way
            gateway_key_check(key=data.get("key"), customer=data.get("customer"), source=data.get("source"))
        except ValidationError as exc:
            self.add_error(None, exc)
        return data


class GatewayHoldForm(BootstrapFormMixin, forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args, customers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = (
            customers if customers is not None else Customer.objects.none()
        ).order_by("name")

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason
