import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.terms.models import BillingTerms
from common.filters import StyledFilterSet


class CustomerFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Customer.Kind.choices)
    mode = django_filters.ChoiceFilter(
        label=_("Billing mode"), field_name="billing_terms__mode", choices=BillingTerms.Mode.choices
    )
    o = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("code", "code"),
            ("kind", "kind"),
            ("billing_terms__mode", "mode"),
            ("parent__name", "parent"),
            ("created_at", "created"),
        ),
    )

    class Meta:
        model = Customer
        fields = ["q", "kind", "mode"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))
