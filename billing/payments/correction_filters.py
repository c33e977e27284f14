import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.payments.models import Correction
from common.filters import StyledFilterSet


class CorrectionFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Correction.Status.choices)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Correction.Kind.choices)
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
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
            ("customer__name", "customer"),
            ("amount", "amount"),
            ("kind", "kind"),
            ("status", "status"),
        ),
    )

    class Meta:
        model = Correction
        fields = ["q", "status", "kind", "currency"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(customer__name__icontains=value)
            | Q(customer__code__icontains=value)
            | Q(note__icontains=value)
            | Q(payment__reference__icontains=value)
            | Q(bank_transfer__reference__icontains=value)
            | Q(stripe_object_id__icontains=value)
            | Q(stripe_refund_id__icontains=value)
        )
