"""Filters and sort orders of the contracts and channels lists."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Channel, ChannelKind, CostBasis, Settlement, Vendor, VendorContract
from common.filters import StyledFilterSet


class ContractFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Name, reference or vendor"), method="search")
    vendor = django_filters.ModelChoiceFilter(label=_("Vendor"), queryset=Vendor.objects.order_by("name"))
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    cost_basis = django_filters.ChoiceFilter(label=_("Cost basis"), choices=CostBasis.choices)
    settlement = django_filters.ChoiceFilter(label=_("Settlement"), choices=Settlement.choices)
    is_active = django_filters.BooleanFilter(label=_("Active"))
    o = django_filters.OrderingFilter(
        fields=(
            ("vendor__name", "vendor"),
            ("name", "name"),
            ("currency", "currency"),
            ("committed_amount", "committed"),
            ("prepaid_amount", "prepaid"),
            ("valid_from", "valid_from"),
            ("valid_to", "valid_to"),
            ("channel_count", "channels"),
        )
    )

    class Meta:
        model = VendorContract
        fields = ["q", "vendor", "currency", "cost_basis", "settlement", "is_active"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(reference__icontains=value) | Q(vendor__name__icontains=value)
        )


class ChannelFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Name, alias or endpoint"), method="search")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=ChannelKind.choices)
    vendor = django_filters.ModelChoiceFilter(
        label=_("Vendor"), field_name="contract__vendor", queryset=Vendor.objects.order_by("name")
    )
    contract = django_filters.ModelChoiceFilter(
        label=_("Contract"), queryset=VendorContract.objects.order_by("name")
    )
    currency = django_filters.CharFilter(
        label=_("Currency"), field_name="contract__currency", lookup_expr="iexact"
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))
    o = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("kind", "kind"),
            ("contract__name", "contract"),
            ("contract__vendor__name", "vendor"),
            ("contract__currency", "currency"),
            ("reporting_zone", "zone"),
            ("reporting_lag_hours", "lag"),
        )
    )

    class Meta:
        model = Channel
        fields = ["q", "kind", "vendor", "contract", "currency", "is_active"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(aliases__alias__icontains=value) | Q(endpoint__icontains=value)
        ).distinct()
