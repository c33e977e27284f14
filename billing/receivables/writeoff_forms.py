"""Forms of the write-off pages: the queue's filters, the proposal, and the decision."""

import uuid
from decimal import Decimal

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.invoicing.models import Invoice
from billing.money import MONEY_FIELD
from billing.receivables.models import WriteOff
from common.filters import StyledFilterSet
from common.forms import BootstrapFormMixin, bootstrap_style


class WriteOffFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=WriteOff.Status.choices)
    origin = django_filters.ChoiceFilter(label=_("Origin"), choices=WriteOff.Origin.choices)
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    after = django_filters.DateFilter(
        label=_("Effective from"), field_name="effective_date", lookup_expr="gte"
    )
    before = django_filters.DateFilter(
        label=_("Effective to"), field_name="effective_date", lookup_expr="lte"
    )
    o = django_filters.OrderingFilter(
        fields=(
            ("proposed_at", "proposed"),
            ("effective_date", "effective"),
            ("total", "total"),
            ("customer__name", "customer"),
            ("status", "status"),
        ),
    )

    class Meta:
        model = WriteOff
        fields = ["q", "status", "origin", "currency"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(customer__name__icontains=value)
            | Q(customer__code__icontains=value)
            | Q(reason__icontains=value)
            | Q(lines__invoice__number__icontains=value)
        ).distinct()


class CustomerPickForm(BootstrapFormMixin, forms.Form):
    """Whose receivable to write off, when the page was opened without a customer or invoice."""

    customer = forms.CharField(label=_("Customer code"), max_length=50)

    def clean_customer(self):
        code = self.cleaned_data["customer"].strip()
        customer = Customer.objects.filter(code__iexact=code).first()
        if customer is None:
            raise forms.ValidationError(_("No customer has the code %(code)s.") % {"code": code})
        return customer


class WriteOffProposeForm(BootstrapFormMixin, forms.Form):
    """A reason, and for each open invoice of the customer in the currency: take it, and how much."""

    whole = forms.BooleanField(
        label=_("Write off everything the customer owes in this currency"),
        required=False,
        help_text=_("Every open invoice, each for what is due on it when it is approved."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, invoices: list[Invoice], chosen: int | None = None, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", str(uuid.uuid4()))
        super().__init__(*args, **kwargs)
        self.invoices = invoices
        for inv in invoices:
            self.fields[f"take_{inv.pk}"] = forms.BooleanField(
                label=inv.number, required=False, initial=inv.pk == chosen
            )
            self.fields[f"amount_{inv.pk}"] = forms.DecimalField(
                label=_("Amount of %(number)s") % {"number": inv.number},
                required=False,
                max_digits=MONEY_FIELD["max_digits"],
                decimal_places=MONEY_FIELD["decimal_places"],
                min_value=Decimal("0.001"),
                help_text=_("Blank: all that is due."),
            )
        bootstrap_style(self.fields.values())

    def rows(self):
        """(invoice, take field, amount field) for the template's table."""
        return [(inv, self[f"take_{inv.pk}"], self[f"amount_{inv.pk}"]) for inv in self.invoices]

    def clean(self):
        data = super().clean()
        if not data.get("whole") and not any(data.get(f"take_{inv.pk}") for inv in self.invoices):
            raise forms.ValidationError(_("Tick the invoices to write off, or write off everything."))
        return data

    def invoices_amounts(self) -> list[tuple[Invoice, Decimal | None]]:
        data = self.cleaned_data
        return [(inv, data.get(f"amount_{inv.pk}")) for inv in self.invoices if data.get(f"take_{inv.pk}")]


class ApproveForm(BootstrapFormMixin, forms.Form):
    effective_date = forms.DateField(
        label=_("Effective date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The posting's date: today, or an earlier day not before any invoice's issue date."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("effective_date", timezone.localdate())
        super().__init__(*args, **kwargs)


class RejectForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("Why is it rejected?"), max_length=500)
