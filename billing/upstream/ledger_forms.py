"""Forms of the upstream ledger pages: record a purchase, a vendor invoice, a payment; burn a day.

Forms only parse what was typed; the services (``packs``, ``bills``, ``vendor_payments``, ``burn``) decide
what is allowed and answer with errors naming the field, which the views put back on the form.
"""

import calendar
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.upstream.models import UpstreamPack, VendorBill
from billing.upstream.packs import BANK, MAX_VALIDITY_DAYS, PAYABLE
from catalog.models import AIModel

DATE = {"widget": forms.DateInput(attrs={"type": "date"})}
AMOUNT = {"max_digits": 21, "decimal_places": 3}


class _Styled(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)


def start_of(day: date | None) -> datetime | None:
    """The start of ``day`` in the operator's zone (packs start and expire at midnight)."""
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


class PurchaseForm(_Styled):
    kind = forms.ChoiceField(label=_("Kind"), choices=UpstreamPack.Kind.choices)
    reference = forms.CharField(label=_("Vendor reference"), max_length=120)
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    price = forms.DecimalField(label=_("Price paid"), min_value=0, **AMOUNT)
    credit = forms.DecimalField(
        label=_("Credit given"),
        required=False,
        min_value=0,
        help_text=_("At contract cost; blank for a top-up gives its price."),
        **AMOUNT,
    )
    tokens = forms.IntegerField(label=_("Tokens"), required=False, min_value=1)
    model = forms.ModelChoiceField(
        label=_("Model"),
        queryset=AIModel.objects.order_by("name"),
        required=False,
        empty_label=_("Any model"),
    )
    purchased_on = forms.DateField(label=_("Bought on"), initial=timezone.localdate, **DATE)
    starts_on = forms.DateField(label=_("Valid from"), required=False, **DATE)
    expires_on = forms.DateField(label=_("Expires on"), required=False, help_text=_("Blank: never."), **DATE)
    validity_days = forms.IntegerField(
        label=_("or valid for (days)"), required=False, min_value=1, max_value=MAX_VALIDITY_DAYS
    )
    payment = forms.ChoiceField(
        label=_("Paid"),
        choices=[(PAYABLE, _("On the vendor's invoice (payable)")), (BANK, _("From the bank at once"))],
    )
    invoice_number = forms.CharField(
        label=_("Invoice number"), max_length=120, required=False, help_text=_("Blank: the reference.")
    )

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "reference": data["reference"],
            "name": data["name"],
            "price": data["price"],
            "credit": data["credit"],
            "tokens": data["tokens"],
            "model": data["model"],
            "purchased_at": start_of(data["purchased_on"]),
            "starts_at": start_of(data["starts_on"]),
            "expires_at": start_of(data["expires_on"]),
            "validity_days": data["validity_days"],
            "payment": data["payment"],
            "invoice_number": data["invoice_number"],
        }


class MonthField(forms.Field):
    """A month typed as YYYY-MM; cleans to its first day."""

    widget = forms.TextInput(attrs={"placeholder": "2026-01", "maxlength": 7})

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        try:
            year, month = (int(part) for part in value.split("-"))
            calendar.monthrange(year, month)
            return date(year, month, 1)
        except (ValueError, calendar.IllegalMonthError):
            raise forms.ValidationError(_("Write the month as YYYY-MM, e.g. 2026-01.")) from None


class BillForm(_Styled):
    number = forms.CharField(label=_("Invoice number"), max_length=120)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(k, label) for k, label in VendorBill.Kind.choices if k != VendorBill.Kind.PREPAYMENT],
    )
    month = MonthField(label=_("Month billed (YYYY-MM)"))
    amount = forms.DecimalField(label=_("Amount"), min_value=0, **AMOUNT)
    issued_on = forms.DateField(label=_("Issued on"), initial=timezone.localdate, **DATE)
    due_on = forms.DateField(
        label=_("Due on"),
        required=False,
        help_text=_("Blank: issued + the contract's payment terms."),
        **DATE,
    )


class PaymentForm(_Styled):
    bill = forms.ModelChoiceField(label=_("Invoice"), queryset=VendorBill.objects.none())
    amount = forms.DecimalField(label=_("Amount settled (invoice currency)"), min_value=0, **AMOUNT)
    paid_on = forms.DateField(label=_("Paid on"), initial=timezone.localdate, **DATE)
    reference = forms.CharField(label=_("Bank reference"), max_length=120)
    bank_currency = forms.CharField(
        label=_("Bank currency"), max_length=3, required=False, help_text=_("Blank: the invoice's currency.")
    )
    bank_amount = forms.DecimalField(
        label=_("Paid from the bank"),
        required=False,
        min_value=0,
        help_text=_("In the bank currency, when it differs."),
        **AMOUNT,
    )

    def __init__(self, *args, bills=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bill"].queryset = bills if bills is not None else VendorBill.objects.none()
        self.fields["bill"].label_from_instance = lambda b: (
            f"{b.number} · {b.month:%Y-%m} · {b.amount - b.paid_amount} {b.currency}"
        )


class BurnForm(_Styled):
    day = forms.DateField(label=_("Day"), **DATE)
