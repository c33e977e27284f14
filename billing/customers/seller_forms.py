"""Forms of the seller console; the rules live in ``seller_services`` and the services they call."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.customers.forms import CustomerCreateForm
from billing.customers.seller_selectors import seller_customers
from billing.money import MONEY_FIELD
from billing.payments.forms import BankTransferForm
from billing.terms.models import BillingTerms
from billing.wallets.models import LimitMode
from common.forms import BootstrapFormMixin


class SellerOnboardForm(CustomerCreateForm):
    """The staff onboarding form without the parent (it is the seller) and with the credit terms."""

    credit_limit = forms.DecimalField(
        label=_("Credit limit"),
        required=False,
        min_value=Decimal("0"),
        **MONEY_FIELD,
        help_text=_("For monthly or quarterly billing: the most this customer may owe you. Blank: none."),
    )
    credit_policy = forms.ChoiceField(
        label=_("When the limit is reached"),
        choices=BillingTerms.CreditPolicy.choices,
        initial=BillingTerms.CreditPolicy.BLOCK,
    )
    payment_term = forms.ChoiceField(
        label=_("Payment terms"),
        choices=BillingTerms.PaymentTerm.choices,
        initial=BillingTerms.PaymentTerm.NET,
    )
    payment_days = forms.IntegerField(label=_("Payment days"), min_value=0, max_value=365, initial=30)
    chain_mode = forms.ChoiceField(
        label=_("How a sub-distributor sells"),
        choices=Customer.ChainMode.choices,
        initial=Customer.ChainMode.RESALE,
        help_text=_(
            "For a sub-distributor only. Resale: it buys from you and bills its customers in its own book. "
            "Agency: you bill its customers at its plans and owe it a commission. Direct: it only groups "
            "customers you price and bill."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["parent"]
        self.fields["credit_limit"].widget.attrs.setdefault("class", "form-control")
        for name in ("credit_policy", "payment_term", "chain_mode"):
            self.fields[name].widget.attrs.setdefault("class", "form-select")
        self.fields["payment_days"].widget.attrs.setdefault("class", "form-control")


class HoldForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("Kept with the hold and sent to the gateway."),
        widget=forms.TextInput(attrs={"placeholder": _("Reason for suspending")}),
    )


class WalletFloorForm(BootstrapFormMixin, forms.Form):
    floor = forms.DecimalField(
        label=_("Floor"),
        max_value=Decimal("0"),
        **MONEY_FIELD,
        help_text=_(
            "Lowest available balance usage may reach: 0, or negative to let the customer run short."
        ),
    )
    limit_mode = forms.ChoiceField(label=_("Limit"), choices=LimitMode.choices)


class RetailFloorForm(BootstrapFormMixin, forms.Form):
    retail_floor = forms.DecimalField(
        label=_("Retail floor"),
        required=False,
        min_value=Decimal("0"),
        max_digits=7,
        decimal_places=6,
        help_text=_("Lowest markup over what it pays you this sub-distributor may sell at (0.05 = 5%)."),
    )


class SellerTransferForm(BankTransferForm):
    """The staff bank-transfer form, offering only the customers the seller sells to in its book."""

    def __init__(self, *args, seller: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = seller_customers(seller).filter(seller=seller).order_by("name")
