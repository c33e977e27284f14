import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.wallets.models import BalanceSuspension, FloorOvershoot, Wallet
from common.filters import StyledFilterSet


class WalletFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Customer"), method="search")
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    suspended = django_filters.BooleanFilter(label=_("Suspended"), method="filter_suspended")
    o = django_filters.OrderingFilter(
        fields=(("customer__name", "customer"), ("currency", "currency"), ("floor", "floor"))
    )

    class Meta:
        model = Wallet
        fields = ["q", "currency", "suspended"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(customer__name__icontains=value) | Q(customer__code__icontains=value))

    def filter_suspended(self, queryset, name, value):
        suspended = BalanceSuspension.objects.filter(ended_at__isnull=True).values("wallet")
        return queryset.filter(pk__in=suspended) if value else queryset.exclude(pk__in=suspended)


class FloorOvershootFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Customer"), method="search")
    currency = django_filters.CharFilter(
        label=_("Currency"), field_name="wallet__currency", lookup_expr="iexact"
    )
    open = django_filters.BooleanFilter(label=_("Still below"), field_name="ended_at", lookup_expr="isnull")
    o = django_filters.OrderingFilter(
        fields=(
            ("started_at", "crossed"),
            ("customer__name", "customer"),
            ("excess_amount", "excess"),
            ("lowest_balance", "lowest"),
        )
    )

    class Meta:
        model = FloorOvershoot
        fields = ["q", "currency", "open"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(customer__name__icontains=value) | Q(customer__code__icontains=value))
