from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from common.forms import BootstrapFormMixin


class ChainTermsForm(BootstrapFormMixin, forms.Form):
    """An agency's commission terms and the retail floor; ``billing.customers.chain_terms`` checks them."""

    commission_basis = forms.ChoiceField(
        label=_("Commission basis"),
        choices=Customer.CommissionBasis.choices,
        help_text=_("For an agency: what it earns on its customers' usage."),
    )
    commission_rate = forms.DecimalField(
        label=_("Commission rate"),
        required=False,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
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


class ChainModeForm(BootstrapFormMixin, forms.Form):
    chain_mode = forms.ChoiceField(label=_("Chain mode"), choices=Customer.ChainMode.choices)
