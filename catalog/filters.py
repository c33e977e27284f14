import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.models import (
    AIModel,
    BookKind,
    FxRate,
    Modality,
    PriceAlert,
    PriceBook,
    PriceImport,
    SellPlan,
    Vendor,
)
from common.filters import StyledFilterSet


class AIModelFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    vendor = django_filters.ModelChoiceFilter(label=_("Vendor"), queryset=Vendor.objects.all())
    modality = django_filters.ChoiceFilter(label=_("Modality"), choices=Modality.choices)
    o = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("vendor__name", "vendor"),
            ("context_window", "context"),
            ("modality", "modality"),
        )
    )

    class Meta:
        model = AIModel
        fields = ["q", "vendor", "modality"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(display_name__icontains=value) | Q(aliases__alias__icontains=value)
        ).distinct()


class PriceBookFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), field_name="name", lookup_expr="icontains")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=BookKind.choices)
    o = django_filters.OrderingFilter(
        fields=(("name", "name"), ("kind", "kind"), ("currency", "currency"), ("priority", "priority"))
    )

    class Meta:
        model = PriceBook
        fields = ["q", "kind"]


class FxRateFilter(StyledFilterSet):
    base = django_filters.CharFilter(label=_("Base"), lookup_expr="iexact")
    quote = django_filters.CharFilter(label=pgettext_lazy("quote currency", "Quote"), lookup_expr="iexact")
    o = django_filters.OrderingFilter(fields=(("date", "date"), ("base", "base"), ("quote", "quote")))

    class Meta:
        model = FxRate
        fields = ["base", "quote"]


class PriceAlertFilter(StyledFilterSet):
    state = django_filters.ChoiceFilter(
        label=_("State"), choices=(("open", _("Open")), ("resolved", _("Resolved"))), method="by_state"
    )
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=PriceAlert.Kind.choices)
    q = django_filters.CharFilter(label=_("Search"), method="search")
    o = django_filters.OrderingFilter(
        fields=(
            ("raised_at", "raised"),
            ("plan__name", "plan"),
            ("model__name", "model"),
            ("margin", "margin"),
        )
    )

    class Meta:
        model = PriceAlert
        fields = ["state", "kind", "q"]

    def by_state(self, queryset, name, value):
        return queryset.filter(resolved_at__isnull=value == "open")

    def search(self, queryset, name, value):
        return queryset.filter(Q(plan__name__icontains=value) | Q(model__name__icontains=value))


class PriceImportFilter(StyledFilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=PriceImport.Status.choices)
    o = django_filters.OrderingFilter(fields=(("created_at", "created"), ("book_name", "book")))

    class Meta:
        model = PriceImport
        fields = ["status"]


class SellPlanFilter(StyledFilterSet):
    """A list of plans: the operator's, a sub-distributor's, or (staff) everyone's."""

    q = django_filters.CharFilter(label=_("Search"), field_name="name", lookup_expr="icontains")
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    is_active = django_filters.BooleanFilter(label=_("Active"))
    o = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("currency", "currency"),
            ("created_at", "created"),
            ("customers", "customers"),
        )
    )

    class Meta:
        model = SellPlan
        fields = ["q", "currency", "is_active"]
