import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.journals.models import ManualJournal
from common.filters import StyledFilterSet


class ManualJournalFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ManualJournal.Status.choices)
    currency = django_filters.CharFilter(
        label=_("Currency"), field_name="lines__currency", lookup_expr="iexact", distinct=True
    )
    after = django_filters.DateFilter(
        label=_("Effective from"), field_name="effective_date", lookup_expr="gte"
    )
    before = django_filters.DateFilter(
        label=_("Effective to"), field_name="effective_date", lookup_expr="lte"
    )
    o = django_filters.OrderingFilter(
        fields=(
            ("proposed_at", "proposed"),
            ("effective_date", "effective"),
            ("status", "status"),
        ),
    )

    class Meta:
        model = ManualJournal
        fields = ["q", "status", "currency"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(reason__icontains=value)
            | Q(proposed_by__email__icontains=value)
            | Q(lines__account__code__icontains=value)
        ).distinct()
