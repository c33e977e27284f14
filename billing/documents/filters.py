import django_filters
from django.utils.translation import gettext_lazy as _

from billing.documents.models import StatementExport
from distributor.filters import StyledFilterSet


class StatementExportFilter(StyledFilterSet):
    state = django_filters.ChoiceFilter(label=_("State"), choices=StatementExport.State.choices)
    date_from = django_filters.DateFilter(label=_("Period from"), field_name="date_from", lookup_expr="gte")
    o = django_filters.OrderingFilter(
        fields=(("created_at", "created"), ("date_from", "period"), ("total", "total")),
    )

    class Meta:
        model = StatementExport
        fields = ["state", "date_from"]
