"""Filters of the upstream ledger list and the vendor invoices list."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.upstream.ledger_forms import MonthField
from billing.upstream.ledger_selectors import BILL_STATUSES
from billing.upstream.models import VendorBill
from catalog.models import Channel, Settlement, Vendor
from common.filters import StyledFilterSet


class LedgerFilter(StyledFilterSet):
    """Channels by name, vendor, currency and settlement; ``low`` (under the cover threshold) is applied to
    the computed cover by the view."""

    q = django_filters.CharFilter(label=_("Channel or contract"), method="search")
    vendor = django_filters.ModelChoiceFilter(
        label=_("Vendor"), field_name="contract__vendor", queryset=Vendor.objects.order_by("name")
    )
    currency = django_filters.CharFilter(
        label=_("Currency"), field_name="contract__currency", lookup_expr="iexact"
    )
    settlement = django_filters.ChoiceFilter(
        label=_("Settlement"), field_name="contract__settlement", choices=Settlement.choices
    )
    low = django_filters.BooleanFilter(label=_("Under the cover threshold"), method="keep")
    active = django_filters.BooleanFilter(label=_("Active"), field_name="is_active")

    class Meta:
        model = Channel
        fields = ["q", "vendor", "currency", "settlement", "low", "active"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(aliases__alias__icontains=value) | Q(contract__name__icontains=value)
        ).distinct()

    def keep(self, queryset, name, value):
        return queryset


class MonthFilter(django_filters.Filter):
    field_class = MonthField


class BillFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Number or channel"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=BILL_STATUSES)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=VendorBill.Kind.choices)
    vendor = django_filters.ModelChoiceFilter(
        label=_("Vendor"), field_name="channel__contract__vendor", queryset=Vendor.objects.order_by("name")
    )
    month = MonthFilter(label=_("Month billed (YYYY-MM)"), field_name="month")
    o = django_filters.OrderingFilter(
        fields=(
            ("due_on", "due"),
            ("issued_on", "issued"),
            ("month", "month"),
            ("amount", "amount"),
            ("left", "left"),
            ("channel__name", "channel"),
            ("number", "number"),
        )
    )

    class Meta:
        model = VendorBill
        fields = ["q", "status", "kind", "vendor", "month"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(number__icontains=value) | Q(channel__name__icontains=value))
