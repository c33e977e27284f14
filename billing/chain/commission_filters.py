import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.chain.models import CommissionStatement
from common.filters import StyledFilterSet


class PortalCommissionFilter(StyledFilterSet):
    """Commission statements by month and currency; sortable."""

    period = django_filters.CharFilter(label=_("Month (YYYY-MM)"), field_name="period")
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    o = django_filters.OrderingFilter(
        fields=(
            ("period_start", "period"),
            ("agent__name", "agent"),
            ("currency", "currency"),
            ("accrued", "accrued"),
            ("closing", "closing"),
        )
    )

    class Meta:
        model = CommissionStatement
        fields = ["period", "currency"]


class CommissionFilter(PortalCommissionFilter):
    """The staff list's filter: the portal's, plus a search by agent name or code."""

    q = django_filters.CharFilter(label=_("Agent"), method="search")

    class Meta(PortalCommissionFilter.Meta):
        fields = ["q", "period", "currency"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(agent__name__icontains=value) | Q(agent__code__icontains=value))
