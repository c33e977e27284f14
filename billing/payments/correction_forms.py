"""Forms for corrections: propose a bank payment reversal or a credit refund, reject a proposal.

They parse and shape input; what may be reversed or refunded, and how much, is the services' rule.
"""

import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.money import MONEY_FIELD
from billing.payments.models import CardTopUp, Correction
from billing.receivables.models import CustomerPayment
from common.forms import BootstrapFormMixin


class PaymentReversalForm(BootstrapFormMixin, forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[
            (r, Correction.Reason(r).label) for r in (Correction.Reason.BOUNCED, Correction.Reason.MISPOSTED)
        ],
    )
    returned_on = forms.DateField(
        label=_("Date the money went back"), widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(
        label=_("Explanation"), max_length=500, help_text=_("E.g. the bank's return notice.")
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("idempotency_key", f"reversal-form:{uuid.uuid4()}")
        self.initial.setdefault("returned_on", timezone.localdate())


class CreditRefundForm(BootstrapFormMixin, forms.Form):
    source = forms.ChoiceField(label=_("Credit to refund"), choices=Correction.Source.choices)
    method = forms.ChoiceField(label=_("Pay back by"), choices=Correction.Method.choices)
    amount = forms.DecimalField(label=_("Amount"), min_value=0, **MONEY_FIELD)
    payment = forms.ModelChoiceField(
        label=_("Payment carrying the credit"),
        queryset=CustomerPayment.objects.none(),
        required=False,
        help_text=_("For unapplied payment credit. A card refund goes back through this payment's card."),
    )
    card_topup = forms.ModelChoiceField(
        label=_("Card top-up to refund to"),
        queryset=CardTopUp.objects.none(),
        required=False,
        help_text=_("For wallet credit refunded by card."),
    )
    note = forms.CharField(label=_("Explanation"), max_length=500)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("idempotency_key", f"refund-form:{uuid.uuid4()}")
        self.fields["payment"].queryset = CustomerPayment.objects.filter(
            customer=customer, status=CustomerPayment.Status.RECEIVED
        ).order_by("-received_on", "-id")
        self.fields["card_topup"].queryset = CardTopUp.objects.filter(
            customer=customer, credit_transaction__isnull=False
        ).order_by("-paid_at", "-id")


class CorrectionRejectForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("Why is it rejected?"), max_length=500)
