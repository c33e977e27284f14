import uuid
from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from billing.wallets.models import MAX_RESERVE_MINUTES, Bucket, Wallet
from billing.wallets.selectors import reserve_minutes_default
from common.outgoing_webhooks import validate_webhook_url


class WalletAdjustmentForm(forms.Form):
    bucket = forms.ChoiceField(label=_("Bucket"), choices=Bucket.choices, initial=Bucket.PAID)
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=28,
        decimal_places=12,
        help_text=_("Positive adds credit, negative removes it; in the wallet's currency."),
    )
    expires_at = forms.DateTimeField(
        label=_("Expires"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Granted or pack credit only; blank never expires."),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)
    # Generated when the form is shown, so a double submit posts once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].initial = f"adjust:{uuid.uuid4()}"
        for name, field in self.fields.items():
            if name != "idempotency_key":
                css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
                field.widget.attrs.setdefault("class", css)

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("The amount must not be zero."))
        return amount

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason

    def clean(self):
        data = super().clean()
        if data.get("expires_at") and data.get("bucket") == Bucket.PAID:
            self.add_error("expires_at", _("Paid credit does not expire."))
        return data


class WalletSettingsForm(forms.ModelForm):
    webhook_url = forms.URLField(
        label=_("Webhook URL"),
        required=False,
        assume_scheme="https",
        validators=[validate_webhook_url],
        help_text=_("A public http(s) address; private and local networks are refused."),
    )
    webhook_secret = forms.CharField(
        label=_("Webhook secret"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave blank to keep the current one."),
    )

    class Meta:
        model = Wallet
        fields = [
            "floor",
            "limit_mode",
            "reserve_minutes",
            "low_balance_threshold",
            "alert_email",
            "webhook_url",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        reserve = self.fields["reserve_minutes"]
        reserve.validators.append(MaxValueValidator(MAX_RESERVE_MINUTES))
        reserve.widget.attrs["max"] = MAX_RESERVE_MINUTES
        reserve.widget.attrs["placeholder"] = reserve_minutes_default()
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean_floor(self):
        floor = self.cleaned_data["floor"]
        if floor > Decimal("0"):
            raise forms.ValidationError(_("The floor must be zero or negative."))
        return floor
