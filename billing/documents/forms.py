"""The seller profile form: a resale sub-distributor's identity on its customers' documents."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import SellerProfile
from accounts.validators import LOGO_FORMATS
from common.forms import BootstrapFormMixin


class SellerProfileForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = SellerProfile
        fields = [
            "legal_name",
            "address",
            "tax_id",
            "billing_email",
            "logo",
            "bank_name",
            "bank_account_name",
            "bank_account_number",
            "bank_code",
            "invoice_footer",
        ]
        widgets = {
            "address": forms.Textarea(attrs={"rows": 3}),
            "invoice_footer": forms.Textarea(attrs={"rows": 2}),
            "logo": forms.ClearableFileInput(attrs={"accept": ",".join(LOGO_FORMATS.values())}),
        }

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        # A new upload must also say it is an image; its content is checked by the model's validator.
        content_type = getattr(logo, "content_type", None)
        if content_type is not None and content_type not in LOGO_FORMATS.values():
            raise forms.ValidationError(_("The logo must be a PNG or JPEG image."), code="logo_type")
        return logo
