import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.invoicing.models import UsageStatement
from billing.statements.models import StatementExport
from common.filters import StyledFilterSet


class StatementExportFilter(StyledFilterSet):
    state = django_filters.ChoiceFilter(label=_("State"), choices=StatementExport.State.choices)
    date_from = django_filters.DateFilter(label=_("Period from"), field_name="date_from", lookup_expr="gte")
    o = django_filters.OrderingFilter(
        fields=(("created_at", "created"), ("date_from", "period"), ("total", "total")),
    )

    class Meta:
        model = StatementExport
        fields = ["state", "date_from"]


class PortalUsageStatementFilter(StyledFilterSet):
    """Usage statements by period (a month, or a range of dates) and currency; sortable."""

    period = django_filters.CharFilter(label=_("Month (YYYY-MM)"), field_name="period")
    period_from = django_filters.DateFilter(
        label=_("Period from"), field_name="period_end", lookup_expr="gte"
    )
    period_to = django_filters.DateFilter(label=_("Period to"), field_name="period_start", lookup_expr="lte")
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    o = django_filters.OrderingFilter(
        fields=(
            ("period_start", "period"),
            ("customer__name", "customer"),
            ("currency", "currency"),
            ("total", "total"),
        )
    )

    class Meta:
        model = UsageStatement
        fields = ["period", "period_from", "period_to", "currency"]


class UsageStatementFilter(PortalUsageStatementFilter):
    """The staff list's filter: the portal's, plus a search by customer name or code."""

    q = django_filters.CharFilter(label=_("Customer"), method="search")

    class Meta(PortalUsageStatementFilter.Meta):
        fields = ["q", "period", "period_from", "period_to", "currency"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(customer__name__icontains=value) | Q(customer__code__icontains=value))
