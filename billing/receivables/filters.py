import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.receivables.models import CreditNote, CustomerPayment, Receipt
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
