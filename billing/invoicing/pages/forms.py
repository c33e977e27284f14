import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.invoicing.models import Invoice
from billing.money import MONEY_FIELD, minor_unit


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
