"""The billing terms form; the rules themselves live in ``services.billing_terms_errors``."""

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.dunning.models import DunningPolicy
from billing.terms.models import BillingTerms
from billing.terms.services import EDITABLE_FIELDS
from common.forms import BootstrapFormMixin

# Credit terms only; each blank is off. The risk flags feed the gateway through the credit policy above.
RISK_HELP = {
    "overdue_flag_days": _(
        "Credit terms only. Raise a risk flag while any invoice is unpaid more than this many days past its "
        "due date; it clears once none is. Blank: off."
    ),
    "spike_factor": _(
        "Credit terms only. Raise a risk flag when a day's usage passes this multiple of the average of the "
        "14 days before (e.g. 3); needs at least 7 days of usage history. Blank: off."
    ),
    "progressive_threshold": _(
        "Credit terms only. Issue an interim invoice at once when unbilled usage passes this amount, in the "
        "terms' currency. Blank: off."
    ),
    "progressive_limit_share": _(
        "Credit terms with a credit limit only. Issue an interim invoice when unbilled usage reaches this "
        "share of the limit: a fraction, 0.8 is 80%. Blank: off."
    ),
}


class BillingTermsForm(BootstrapFormMixin, forms.ModelForm):
    language = forms.ChoiceField(
        label=_("Document language"),
        choices=Customer._meta.get_field("language").choices,
        help_text=_("Invoices, statements and reminders are written in this language."),
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, help_text=_("ISO 4217 code, e.g. CNY."))
    billing_emails = forms.CharField(
        label=_("Billing contacts"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("E-mail addresses for invoices and reminders, separated by commas."),
    )

    class Meta:
        model = BillingTerms
        fields = list(EDITABLE_FIELDS)
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = customer.language
        current = self.instance.dunning_policy_id if self.instance.pk else None
        self.fields["dunning_policy"].queryset = DunningPolicy.objects.filter(
            is_active=True
        ) | DunningPolicy.objects.filter(pk=current)
        self.fields["dunning_policy"].empty_label = _("No reminders")
        self.fields["payment_days"].help_text = _("Net N days or end of month + N days: 0 to 365.")
        self.fields["credit_limit"].help_text = _(
            "In the terms' currency, for monthly or quarterly credit. 0: no credit limit (prepaid customers "
            "have none)."
        )
        for name, text in RISK_HELP.items():
            self.fields[name].help_text = text
        # The service decides (it also serves other callers); the model's own checks would only repeat it.
        for name in ("credit_limit", "tax_rate", "payment_days", *RISK_HELP):
            field = self.fields[name]
            field.validators = [
                v for v in field.validators if not isinstance(v, MinValueValidator | MaxValueValidator)
            ]

    def _post_clean(self):
        """Skip ModelForm's instance validation: ``billing_terms_update`` validates and saves."""
