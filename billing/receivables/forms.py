import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.invoicing.models import Invoice
from billing.money import MONEY_FIELD, minor_unit
from billing.terms.models import CREDIT_MODES

_INPUT = {"class": "form-control"}


class PaymentForm(forms.Form):
    """Record a bank payment from a credit customer; a hidden key makes a double submit harmless."""

    ALLOCATE = (
        ("oldest", _("Oldest invoices first")),
        ("invoice", _("The invoice chosen below")),
        ("none", _("Keep as credit for now")),
    )

    customer = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=Customer.objects.none(),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    amount = forms.DecimalField(
        label=_("Amount"),
        **MONEY_FIELD,
        # Any step: the currency is chosen in the same form, and the service checks its minor unit.
        widget=forms.NumberInput(attrs={**_INPUT, "step": "any"}),
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, widget=forms.TextInput(attrs=_INPUT))
    received_on = forms.DateField(
        label=_("Received on"), widget=forms.DateInput(attrs={**_INPUT, "type": "date"})
    )
    reference = forms.CharField(
        label=_("Bank reference"), max_length=200, required=False, widget=forms.TextInput(attrs=_INPUT)
    )
    allocate = forms.ChoiceField(
        label=_("Allocate to"),
        choices=ALLOCATE,
        initial="oldest",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    invoice = forms.ModelChoiceField(
        label=_("Invoice"),
        queryset=Invoice.objects.none(),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    note = forms.CharField(
        label=_("Note"), max_length=500, required=False, widget=forms.TextInput(attrs=_INPUT)
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, customers, invoices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers.filter(billing_terms__mode__in=CREDIT_MODES).order_by(
            "name"
        )
        # A written-off invoice is offered too: money paid on it is a recovery (receivables.recoveries).
        self.fields["invoice"].queryset = invoices.filter(
            status__in=(Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID, Invoice.Status.WRITTEN_OFF)
        ).order_by("due_date", "number")
        self.initial.setdefault("idempotency_key", f"payment-form:{uuid.uuid4()}")
        self.initial.setdefault("received_on", timezone.localdate())

    def clean_currency(self):
        return self.cleaned_data["currency"].strip().upper()

    def clean(self):
        data = super().clean()
        if data.get("allocate") == "invoice":
            invoice = data.get("invoice")
            if invoice is None:
                self.add_error("invoice", _("Choose the invoice to allocate to."))
            elif data.get("customer") and invoice.customer_id != data["customer"].pk:
                self.add_error("invoice", _("This invoice belongs to another customer."))
        return data


class BulkForm(forms.Form):
    ACTIONS = (("issue", _("Issue selected drafts")), ("send", _("Send selected")))

    action = forms.ChoiceField(choices=ACTIONS)
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=())

    def __init__(self, *args, invoices=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoices = invoices if invoices is not None else Invoice.objects.none()
        self.fields["ids"].choices = [(pk, pk) for pk in self.invoices.values_list("pk", flat=True)]
        self.fields["ids"].error_messages["required"] = _("Select at least one invoice.")
        self.fields["ids"].error_messages["invalid_choice"] = _("An invoice you selected is not available.")


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.TextInput(attrs={"class": "form-control"})
    )


class CreditNoteForm(forms.Form):
    """A full credit, or chosen amounts (before tax) per line; a hidden key makes a double submit harmless."""

    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    full = forms.BooleanField(
        label=_("Credit everything not yet credited"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, invoice: Invoice, remaining: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("idempotency_key", f"cn-form:{uuid.uuid4()}")
        self.remaining = remaining
        for rem in remaining:
            self.fields[f"line_{rem.line.pk}"] = forms.DecimalField(
                label=rem.line.description,
                required=False,
                min_value=0,
                **MONEY_FIELD,
                help_text=_("Up to %(left)s %(currency)s before tax")
                % {"left": rem.net, "currency": invoice.currency},
                widget=forms.NumberInput(
                    attrs={"class": "form-control form-control-sm", "step": str(minor_unit(invoice.currency))}
                ),
            )

    def line_fields(self):
        return [self[f"line_{rem.line.pk}"] for rem in self.remaining]

    def clean(self):
        data = super().clean()
        chosen = [
            (rem.line, data.get(f"line_{rem.line.pk}"))
            for rem in self.remaining
            if data.get(f"line_{rem.line.pk}")
        ]
        if not data.get("full") and not chosen:
            raise forms.ValidationError(
                _("Tick “credit everything” or enter an amount for at least one line.")
            )
        data["lines"] = None if data.get("full") else chosen
        return data
