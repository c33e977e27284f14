"""The portal's bank-transfer notice form. Shape only: the rules live in ``portal_notify`` and
``bank_transfers`` (currency, positive amount in the currency's places, value date, slip type and size)."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.money import MONEY_FIELD
from common.forms import BootstrapFormMixin


class BankTransferNoticeForm(BootstrapFormMixin, forms.Form):
    # The column's own bounds: a longer figure is refused here, not by the database.
    amount = forms.DecimalField(label=_("Amount"), **MONEY_FIELD)
    currency = forms.ChoiceField(label=_("Currency"))
    reference = forms.CharField(
        label=_("Bank reference"), max_length=100, help_text=_("The bank's transaction number (流水号).")
    )
    value_date = forms.DateField(
        label=_("Value date"), widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    attachment = forms.FileField(
        label=_("Bank slip"),
        help_text=_("PDF, PNG or JPEG."),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"}
        ),
    )
    note = forms.CharField(
        label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        # The customer is billed in one currency; the service says so if another is posted.
        self.fields["currency"].choices = [(currency, currency)]
        self.fields["currency"].initial = currency
        self.fields["amount"].widget.attrs.update({"inputmode": "decimal", "placeholder": "0.00"})
