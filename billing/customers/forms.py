from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.terms.models import BillingTerms
from common.days import local_midnight
from common.forms import BootstrapFormMixin


class CustomerCreateForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    code = forms.SlugField(label=_("Code"), max_length=40)
    kind = forms.ChoiceField(label=_("Kind"), choices=Customer.Kind.choices)
    parent = forms.ModelChoiceField(
        label=_("Parent sub-distributor"),
        queryset=Customer.objects.filter(kind=Customer.Kind.SUB_DISTRIBUTOR),
        required=False,
        help_text=_("Leave empty for a direct customer of the operator."),
    )
    language = forms.ChoiceField(label=_("Document language"), choices=Customer.Language.choices)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)
    mode = forms.ChoiceField(label=_("Billing mode"), choices=BillingTerms.Mode.choices)
    currency = forms.CharField(label=_("Currency"), min_length=3, max_length=3, initial="CNY")
    terms_from = forms.DateField(
        label=_("Terms apply from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_(
            "The day these terms start, in the operator's time zone. Blank: from the customer's first "
            "usage. Usage sent before this day is billed under these terms too, never left out."
        ),
    )

    def clean_code(self):
        code = self.cleaned_data["code"]
        if Customer.objects.filter(code=code).exists():
            raise forms.ValidationError(_("A customer with this code already exists."))
        return code

    def clean_terms_from(self):
        """The start of the day (operator's time zone), as ``customer_onboard`` takes it; never ahead."""
        day = self.cleaned_data.get("terms_from")
        if day is None:
            return None
        if day > timezone.localdate():
            raise forms.ValidationError(
                _(
                    "Terms cannot apply from a day that has not come yet; pick today or earlier, or leave "
                    "it blank."
                )
            )
        return local_midnight(day)

    def clean_currency(self):
        currency = self.cleaned_data["currency"].upper()
        if not currency.isalpha():
            raise forms.ValidationError(_("Use a three-letter ISO 4217 code such as CNY or USD."))
        return currency
