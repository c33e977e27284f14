import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.gateway.models import GatewayHold
from billing.usage.models import GatewayKey, GatewaySource, SourceKind
from common.filters import StyledFilterSet


class GatewaySourceFilter(StyledFilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=SourceKind.choices, empty_label=_("All"))
    is_active = django_filters.BooleanFilter(label=_("Active"))
    o = django_filters.OrderingFilter(
        fields=(("name", "name"), ("kind", "kind"), ("last_used_at", "used"), ("created_at", "created"))
    )

    class Meta:
        model = GatewaySource
        fields = ["kind", "is_active"]


class GatewayKeyFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Key or customer"), method="search")
    source = django_filters.ModelChoiceFilter(
        label=_("Source"), queryset=GatewaySource.objects.all(), empty_label=_("All")
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))
    o = django_filters.OrderingFilter(
        fields=(
            ("key", "key"),
            ("customer__name", "customer"),
            ("source__name", "source"),
            ("created_at", "created"),
        )
    )

    class Meta:
        model = GatewayKey
        fields = ["q", "source", "is_active"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(key__icontains=value) | Q(customer__name__icontains=value) | Q(customer__code__icontains=value)
        )


class GatewayHoldFilter(StyledFilterSet):
    open = django_filters.BooleanFilter(label=_("Open"), field_name="ended_at", lookup_expr="isnull")
    o = django_filters.OrderingFilter(
        fields=(("started_at", "started"), ("customer__name", "customer"), ("ended_at", "ended"))
    )

    class Meta:
        model = GatewayHold
        fields = ["open"]
