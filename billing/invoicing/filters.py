import django_filters
from django.utils.translation import gettext_lazy as _

from billing.invoicing.models import PeriodClose, ServiceCharge
from common.filters import StyledFilterSet


class ServiceChargeFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Customer or description"), method="search")
    recurrence = django_filters.ChoiceFilter(label=_("Recurrence"), choices=ServiceCharge.Recurrence.choices)
    is_active = django_filters.BooleanFilter(label=_("Active"))
    o = django_filters.OrderingFilter(
        fields=(("customer__name", "customer"), ("starts_on", "starts"), ("amount", "amount"))
    )

    class Meta:
        model = ServiceCharge
        fields = ["q", "recurrence", "is_active"]

    def search(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(customer__name__icontains=value) | Q(description__icontains=value))


class PeriodCloseFilter(StyledFilterSet):
    period = django_filters.CharFilter(label=_("Period"), lookup_expr="icontains")
    state = django_filters.ChoiceFilter(label=_("State"), choices=PeriodClose.State.choices)
    o = django_filters.OrderingFilter(fields=(("started_at", "started"), ("period", "period")))

    class Meta:
        model = PeriodClose
        fields = ["period", "state"]
