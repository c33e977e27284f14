"""The upstream settings form: tolerances, thresholds and where alerts go. The webhook secret is
write-only: never shown back, kept when left blank, removed only when asked."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_email
from django.utils.translation import gettext_lazy as _

from billing.upstream.models import UpstreamSettings
from common.forms import BootstrapFormMixin
from common.outgoing_webhooks import validate_webhook_url

FRACTIONS = ("token_tolerance", "request_tolerance", "cost_tolerance")
# A tolerance is a fraction of the larger figure: 1 (100%) or more would match anything, so the largest
# allowed is the last step below 1 the field stores (six decimal places).
FRACTION_MAX = Decimal("0.999999")


class UpstreamSettingsForm(BootstrapFormMixin, forms.ModelForm):
    webhook_url = forms.URLField(
        label=_("Alert webhook URL"),
        required=False,
        assume_scheme="https",
        validators=[validate_webhook_url],
        help_text=_("A public http(s) address; private and local networks are refused."),
    )
    webhook_secret = forms.CharField(
        label=_("Alert webhook secret"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave blank to keep the current one. Signs each alert (X-Distributor-Signature)."),
    )
    clear_secret = forms.BooleanField(label=_("Remove the webhook secret"), required=False)

    class Meta:
        model = UpstreamSettings
        fields = [
            "token_tolerance",
            "token_tolerance_abs",
            "request_tolerance",
            "cost_tolerance",
            "leakage_threshold",
            "shift_sigmas",
            "alert_emails",
            "webhook_url",
        ]
        widgets = {"alert_emails": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in FRACTIONS:
            self.fields[name].validators += [MinValueValidator(Decimal(0)), MaxValueValidator(FRACTION_MAX)]
        self.fields["leakage_threshold"].validators.append(MinValueValidator(Decimal(0)))
        self.fields["shift_sigmas"].validators.append(MinValueValidator(Decimal("0.5")))

    def clean_alert_emails(self):
        addresses = [line.strip() for line in self.cleaned_data["alert_emails"].splitlines() if line.strip()]
        for number, address in enumerate(addresses, start=1):
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(
                    _("Line %(line)s: %(address)s is not an e-mail address.")
                    % {"line": number, "address": address}
                ) from None
        return "\n".join(addresses)

    def clean(self):
        data = super().clean()
        if data.get("clear_secret") and data.get("webhook_secret"):
            self.add_error("webhook_secret", _("Either enter a new secret or remove it, not both."))
        return data
