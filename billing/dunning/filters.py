import django_filters
from django.utils.translation import gettext_lazy as _

from billing.dunning.models import DunningNotice, DunningPolicy
from common.filters import StyledFilterSet


class DunningPolicyFilter(StyledFilterSet):
    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")
    is_active = django_filters.BooleanFilter(label=_("Active"))
    o = django_filters.OrderingFilter(fields=(("name", "name"), ("customers", "customers")))

    class Meta:
        model = DunningPolicy
        fields = ["name", "is_active"]


class DunningNoticeFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Invoice or customer"), method="search")
    suspended = django_filters.BooleanFilter(label=_("Suspended service"))
    skipped = django_filters.BooleanFilter(label=_("Skipped"))
    failed = django_filters.BooleanFilter(label=_("Failed"), method="filter_failed")
    o = django_filters.OrderingFilter(
        fields=(("sent_at", "sent"), ("invoice__number", "invoice"), ("invoice__customer__name", "customer"))
    )

    class Meta:
        model = DunningNotice
        fields = ["q", "suspended", "skipped"]

    def search(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(
            Q(invoice__number__icontains=value) | Q(invoice__customer__name__icontains=value)
        )

    def filter_failed(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(error="") if value else queryset.filter(error="")
