import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from accounts.selectors import customers_visible_to
from billing.invoicing.models import Invoice
from billing.receivables.models import CreditNote, CustomerPayment, Receipt
from billing.receivables.selectors import overdue_q
from common.filters import StyledFilterSet


class PaymentFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=CustomerPayment.Status.choices)
    method = django_filters.ChoiceFilter(label=_("Method"), choices=CustomerPayment.Method.choices)
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    received_after = django_filters.DateFilter(
        label=_("Received from"), field_name="received_on", lookup_expr="gte"
    )
    received_before = django_filters.DateFilter(
        label=_("Received to"), field_name="received_on", lookup_expr="lte"
    )
    o = django_filters.OrderingFilter(
        fields=(
            ("received_on", "received"),
            ("customer__name", "customer"),
            ("amount", "amount"),
            ("reference", "reference"),
            ("status", "status"),
        )
    )

    class Meta:
        model = CustomerPayment
        fields = ["q", "status", "method", "currency"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(reference__icontains=value)
            | Q(customer__name__icontains=value)
            | Q(payment_intent_id__icontains=value)
        )


class _NumberedDocumentFilter(StyledFilterSet):
    """Search, currency and issue-date range shared by the numbered documents (credit notes, receipts)."""

    search_fields: tuple[str, ...] = ("number", "customer__name")

    q = django_filters.CharFilter(label=_("Search"), method="search")
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    issued_after = django_filters.DateFilter(
        label=_("Issued from"), field_name="issue_date", lookup_expr="gte"
    )
    issued_before = django_filters.DateFilter(
        label=_("Issued to"), field_name="issue_date", lookup_expr="lte"
    )

    def search(self, queryset, name, value):
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)


class CreditNoteFilter(_NumberedDocumentFilter):
    search_fields = ("number", "invoice__number", "customer__name", "reason")

    o = django_filters.OrderingFilter(
        fields=(
            ("number", "number"),
            ("issue_date", "issued"),
            ("customer__name", "customer"),
            ("total", "total"),
        )
    )

    class Meta:
        model = CreditNote
        fields = ["q", "currency"]


class ReceiptFilter(_NumberedDocumentFilter):
    o = django_filters.OrderingFilter(
        fields=(
            ("number", "number"),
            ("issue_date", "issued"),
            ("customer__name", "customer"),
            ("amount", "amount"),
        )
    )

    class Meta:
        model = Receipt
        fields = ["q", "currency"]


def _customers(request):
    return customers_visible_to(request.user).order_by("name") if request else Customer.objects.none()


SORTS = (
    ("number", "number"),
    ("customer__name", "customer"),
    ("period", "period"),
    ("issue_date", "issued"),
    ("due_date", "due"),
    ("total", "total"),
    ("due", "owed"),
    ("status", "status"),
)


class InvoiceFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Invoice.Status.choices)
    customer = django_filters.ModelChoiceFilter(label=_("Customer"), queryset=_customers)
    period = django_filters.CharFilter(
        label=_("Period"), lookup_expr="iexact", help_text=_("2026-10 or 2026-Q3")
    )
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    overdue = django_filters.BooleanFilter(label=_("Overdue"), method="filter_overdue")
    o = django_filters.OrderingFilter(fields=SORTS)

    class Meta:
        model = Invoice
        fields = ["q", "status", "customer", "period", "currency", "overdue"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(number__icontains=value)
            | Q(customer__name__icontains=value)
            | Q(customer__code__icontains=value)
        )

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(overdue_q()) if value else queryset.exclude(overdue_q())


class PortalInvoiceFilter(StyledFilterSet):
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=[c for c in Invoice.Status.choices if c[0] != Invoice.Status.DRAFT]
    )
    period = django_filters.CharFilter(label=_("Period"), lookup_expr="iexact")
    o = django_filters.OrderingFilter(fields=SORTS)

    class Meta:
        model = Invoice
        fields = ["status", "period"]
