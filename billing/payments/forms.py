"""Forms for top-ups. They parse and shape input; the rules that matter live in the services."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.selectors import customers_visible_to
from billing.money import MONEY_FIELD
from billing.payments.amounts import card_presets
from catalog.selectors.currencies import currency_choice_field


class _Styled:
    """Give every widget Bootstrap's class, as the rest of the dashboard's forms have."""

    def style(self):
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.RadioSelect | forms.HiddenInput):
                continue
            widget.attrs.setdefault(
                "class", "form-select" if isinstance(widget, forms.Select) else "form-control"
            )


class CardTopUpForm(_Styled, forms.Form):
    """A preset amount or a custom one, in the customer's currency."""

    preset = forms.ChoiceField(label=_("Amount"), required=False, widget=forms.RadioSelect)
    amount = forms.DecimalField(
        label=_("Other amount"), required=False, min_value=Decimal("0.01"), max_digits=14, decimal_places=3
    )
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)

    def __init__(self, *args, currency: str, **kwargs):
        kwargs.setdefault("initial", {})["currency"] = currency
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.fields["preset"].choices = [(str(p), f"{p:,} {currency}") for p in card_presets(currency)]
        self.fields["amount"].widget.attrs.update({"inputmode": "decimal", "placeholder": "0.00"})
        self.style()

    def clean_currency(self):
        # Whether the currency is allowed is the service's rule (billing.payments.amounts.card_quote).
        return self.cleaned_data["currency"].upper()

    def clean(self):
        data = super().clean()
        amount = data.get("amount") or (Decimal(data["preset"]) if data.get("preset") else None)
        if amount is None and not self.errors:
            raise forms.ValidationError(_("Choose an amount or enter one."))
        data["chosen"] = amount
        return data


class RedeemForm(_Styled, forms.Form):
    code = forms.CharField(label=_("Redemption code"), max_length=40)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(
            {"placeholder": "XXXX-XXXX-XXXX-XXXX", "autocomplete": "off", "spellcheck": "false"}
        )
        self.style()


class BankTransferForm(_Styled, forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=None)
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3, help_text=_("ISO 4217 code."))
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), **MONEY_FIELD)
    reference = forms.CharField(
        label=_("Bank reference"), max_length=100, help_text=_("流水号 on the bank statement.")
    )
    value_date = forms.DateField(label=_("Value date"), widget=forms.DateInput(attrs={"type": "date"}))
    attachment = forms.FileField(
        label=_("Attachment"),
        required=False,
        help_text=_("Bank slip or statement extract: PDF, PNG or JPEG."),
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers_visible_to(user).order_by("name")
        self.fields["value_date"].initial = timezone.localdate
        self.style()

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()

    def clean_attachment(self):
        from billing.payments.bank_transfers import attachment_validate

        upload = self.cleaned_data.get("attachment")
        if upload:
            attachment_validate(upload)
        return upload


class RejectForm(_Styled, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style()


class StripeEventNoteForm(_Styled, forms.Form):
    """Finance's note when closing a Stripe event by hand; kept on the event."""

    note = forms.CharField(
        label=_("Note"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What was done, e.g. refunded in Stripe on a date, or booked by journal."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style()


class RedemptionBatchForm(_Styled, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, help_text=_("E.g. the campaign or partner."))
    currency = currency_choice_field()
    value = forms.DecimalField(label=_("Value per code"), min_value=Decimal("0.01"), **MONEY_FIELD)
    count = forms.IntegerField(label=_("Number of codes"), min_value=1)
    expires_at = forms.DateTimeField(
        label=_("Redeem before"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style()
