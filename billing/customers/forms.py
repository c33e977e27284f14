from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.customers.chain_terms import chain_terms_errors
from billing.gateway.services import gateway_key_check
from billing.terms.models import BillingTerms
from billing.usage.models import GatewayKey
from catalog.models import SellPlan
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


class ChainTermsFields(forms.Form):
    """An agency's commission terms and the retail floor the operator sets, as the staff pages ask them
    (onboarding here, the chain settings page in ``billing.chain``); ``chain_terms`` checks them."""

    commission_basis = forms.ChoiceField(
        label=_("Commission basis"),
        choices=Customer.CommissionBasis.choices,
        initial=Customer.CommissionBasis.MARGIN,
        required=False,
        help_text=_("For an agency: what it earns on its customers' usage."),
    )
    commission_rate = forms.DecimalField(
        label=_("Commission rate"),
        required=False,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        max_digits=7,
        decimal_places=6,
        help_text=_("For a percentage commission: the fraction of retail (0.08 = 8%)."),
    )
    retail_floor = forms.DecimalField(
        label=_("Retail floor"),
        required=False,
        min_value=Decimal("0"),
        decimal_places=6,
        help_text=_(
            "Lowest markup over its buy price this sub-distributor may sell at (0.05 = 5%); blank: none."
        ),
    )


class OnboardingTermsFields(forms.Form):
    """What a credit customer needs on day one, asked at onboarding so it is not a second trip: the payment
    term, the credit limit and the plan that prices it. All optional; blank keeps the defaults (due on
    receipt, no credit limit, the default plan)."""

    payment_term = forms.ChoiceField(
        label=_("Payment term"),
        choices=[("", "—"), *BillingTerms.PaymentTerm.choices],
        required=False,
    )
    payment_days = forms.IntegerField(
        label=_("Payment days"),
        required=False,
        min_value=0,
        max_value=365,
        help_text=_("For net and end-of-month terms: the days the customer has to pay."),
    )
    credit_limit = forms.DecimalField(
        label=_("Credit limit"),
        required=False,
        min_value=Decimal("0"),
        max_digits=18,
        decimal_places=3,
        help_text=_("In the terms' currency, for monthly or quarterly credit; blank: no credit limit."),
    )
    plan = forms.ModelChoiceField(
        label=_("Plan"),
        queryset=SellPlan.objects.filter(is_active=True, owner__isnull=True),
        required=False,
        empty_label=_("The default plan"),
        help_text=_(
            "The operator's plan that prices this customer, from the day its terms apply (or today). A "
            "customer of a reselling sub-distributor is priced by its seller's plans instead."
        ),
    )

    def onboarding_errors(self, data: dict) -> dict[str, str]:
        """Refusals that need several fields at once; each lands on the field to correct."""
        errors = {}
        term, days = data.get("payment_term"), data.get("payment_days")
        if term in (BillingTerms.PaymentTerm.NET, BillingTerms.PaymentTerm.END_OF_MONTH) and days is None:
            errors["payment_days"] = _("Give the number of days this payment term allows.")
        elif days and not term:
            errors["payment_term"] = _("Choose the payment term these days count for.")
        elif days and term == BillingTerms.PaymentTerm.DUE_ON_RECEIPT:
            errors["payment_days"] = _("Due on receipt has no payment days: leave it blank or choose net.")
        if data.get("credit_limit") and data.get("mode") == BillingTerms.Mode.PREPAID:
            errors["credit_limit"] = _(
                "A credit limit needs a credit mode (monthly or quarterly); prepaid customers have none."
            )
        return errors


class StaffCustomerCreateForm(CustomerCreateForm, OnboardingTermsFields, ChainTermsFields):
    """The operator's onboarding: terms, limit and plan for any customer; a sub-distributor also gets its
    chain mode, an agency's commission and the retail floor the operator sets
    (``billing.customers.chain_terms``)."""

    # The customer's own fields first, then its terms and plan, then how it sells.
    field_order = [
        *CustomerCreateForm.base_fields,
        *OnboardingTermsFields.base_fields,
        "chain_mode",
        *ChainTermsFields.base_fields,
    ]

    chain_mode = forms.ChoiceField(
        label=_("Chain mode"),
        choices=Customer.ChainMode.choices,
        initial=Customer.ChainMode.RESALE,
        required=False,
        help_text=_(
            "For a sub-distributor: resale (buys at its plan, sells at its own in its own book), agency "
            "(we bill its customers at its plans and pay it a commission) or direct (only groups customers)."
        ),
    )

    def clean(self):
        data = super().clean()
        for name, message in self.onboarding_errors(data).items():
            if name not in self.errors:  # a field's own error already says what is wrong
                self.add_error(name, message)
        if data.get("kind") != Customer.Kind.SUB_DISTRIBUTOR:
            # An end customer sells to nobody: the chain fields are not its own, whatever was sent.
            for name in ("chain_mode", "commission_basis", "commission_rate", "retail_floor"):
                self.errors.pop(name, None)
            data.update(
                chain_mode=Customer.ChainMode.RESALE,
                commission_basis=Customer.CommissionBasis.MARGIN,
                commission_rate=None,
                retail_floor=None,
            )
            return data
        # Left out (an older form, a script): a resale sub-distributor, as customer_onboard's default.
        data["chain_mode"] = data.get("chain_mode") or Customer.ChainMode.RESALE
        data["commission_basis"] = data.get("commission_basis") or Customer.CommissionBasis.MARGIN
        if data["chain_mode"] != Customer.ChainMode.AGENCY:
            # Only an agency is paid a commission; a rate typed for another mode is not kept.
            data.update(commission_basis=Customer.CommissionBasis.MARGIN, commission_rate=None)
        errors = chain_terms_errors(
            commission_basis=data["commission_basis"],
            commission_rate=data.get("commission_rate"),
            retail_floor=data.get("retail_floor"),
        )
        for name, message in errors.items():
            if name not in self.errors:  # a field's own error already says what is wrong
                self.add_error(name, message)
        return data


class CustomerKeyForm(BootstrapFormMixin, forms.ModelForm):
    """Map a gateway key to the customer whose page this is (``gateway_key_create`` saves it); bind it with
    ``instance=GatewayKey(customer=...)`` so a key another customer holds is refused on the key field."""

    class Meta:
        model = GatewayKey
        fields = ["key", "source", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].empty_label = _("Any source")

    def clean_key(self):
        key = self.cleaned_data["key"].strip()
        if not key:
            raise forms.ValidationError(_("Give the key as the gateway reports it."))
        return key

    def clean(self):
        data = super().clean()
        customer = self.instance.customer if self.instance.customer_id else None
        try:  # on the key field, before the database constraints word a clash their way
            gateway_key_check(key=data.get("key"), customer=customer, source=data.get("source"))
        except ValidationError as exc:
            self.add_error(None, exc)
        return data
