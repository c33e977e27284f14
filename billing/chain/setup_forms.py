from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.customers.forms import ChainTermsFields
from common.forms import BootstrapFormMixin


class ChainTermsForm(BootstrapFormMixin, ChainTermsFields):
    """The chain settings page's commission terms and retail floor (``billing.customers.chain_terms`` checks
    them); a basis left out is the margin, as at onboarding."""

    def clean_commission_basis(self) -> str:
        return self.cleaned_data.get("commission_basis") or Customer.CommissionBasis.MARGIN


class ChainModeForm(BootstrapFormMixin, forms.Form):
    chain_mode = forms.ChoiceField(label=_("Chain mode"), choices=Customer.ChainMode.choices)
