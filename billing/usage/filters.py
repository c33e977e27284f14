"""Filters for the usage pages: daily rollups by date range, customer, model, vendor and currency; the
unrated queue; uploads."""

import django_filters
from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from accounts.selectors import customers_visible_to
from billing.usage.models import GatewaySource, UsageDaily, UsageEvent, UsageUpload
from billing.usage.selectors import UNRATED_REASONS, default_range
from catalog.models import AIModel, Vendor
from common.filters import StyledFilterSet

_DATE = forms.DateInput(attrs={"type": "date"})
_USAGE_ORDERING = (
    ("requests", "requests"),
    ("tokens", "tokens"),
    ("prompt_tokens", "input"),
    ("completion_tokens", "output"),
    ("sell", "sell"),
    ("cost", "cost"),
    ("margin", "margin"),
)


def _visible_customers(request):
    """The customers the signed-in user may see (the filter's form is built before __init__ returns)."""
    if request is None:
        return Customer.objects.none()
    return customers_visible_to(request.user).order_by("path")


def _sell_currencies():
    currencies = UsageDaily.objects.order_by("sell_currency").values_list("sell_currency", flat=True)
    return [(c, c) for c in currencies.distinct()]


class _RollupFilter(StyledFilterSet):
    """Date range (defaults to the last 30 days) and currency over daily rollup rows.

    A table's filter sorts an aggregated queryset (by model, by day); ``rows`` applies the same filters,
    without the sort, to the plain rollup rows behind the totals and charts.
    """

    start = django_filters.DateFilter(label=_("From"), field_name="day", lookup_expr="gte", widget=_DATE)
    end = django_filters.DateFilter(label=_("To"), field_name="day", lookup_expr="lte", widget=_DATE)
    currency = django_filters.ChoiceFilter(
        label=_("Currency"), field_name="sell_currency", choices=_sell_currencies, empty_label=_("All")
    )

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else QueryDict(mutable=True)
        if not data.get("start") and not data.get("end"):
            start, end = default_range()
            data["start"], data["end"] = start.isoformat(), end.isoformat()
        super().__init__(data, *args, **kwargs)

    def rows(self, queryset):
        """Apply every filter but the sort to ``queryset`` (plain rollup rows); none if invalid."""
        if not self.is_valid():
            return queryset.none()
        for name, value in self.form.cleaned_data.items():
            if name != "o":
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def period(self):
        """The (start, end) dates shown, filling an open end from the default range."""
        data = self.form.cleaned_data if self.is_valid() else {}
        default_start, default_end = default_range()
        end = data.get("end") or default_end
        start = data.get("start") or min(default_start, end)
        return start, end


class UsageFilter(_RollupFilter):
    """The staff overview: every customer, any model or vendor."""

    customer = django_filters.ModelChoiceFilter(
        label=_("Customer"), queryset=_visible_customers, empty_label=_("All")
    )
    model = django_filters.ModelChoiceFilter(
        label=_("Model"),
        queryset=AIModel.objects.select_related("vendor").order_by("name"),
        empty_label=_("All"),
    )
    vendor = django_filters.ModelChoiceFilter(
        label=_("Vendor"),
        field_name="model__vendor",
        queryset=Vendor.objects.order_by("name"),
        empty_label=_("All"),
    )
    # The margin report in one currency: the page adds sales, cost and margin in the base currency.
    amounts = django_filters.ChoiceFilter(
        label=_("Amounts in"),
        choices=[("base", _("the base currency too"))],
        empty_label=_("each sell currency"),
        method="amounts_shown",
    )
    o = django_filters.OrderingFilter(
        fields=(("model__name", "model"), ("model__vendor__name", "vendor"), *_USAGE_ORDERING)
    )

    class Meta:
        model = UsageDaily
        fields = ["start", "end", "customer", "model", "vendor", "currency", "amounts"]

    def amounts_shown(self, queryset, name, value):
        """Choose how the page shows money; the rows are the same either way."""
        return queryset


class CustomerUsageFilter(_RollupFilter):
    """One customer's usage (staff per-customer page, portal): date range, model, currency."""

    model = django_filters.ModelChoiceFilter(
        label=_("Model"),
        queryset=AIModel.objects.select_related("vendor").order_by("name"),
        empty_label=_("All"),
    )
    o = django_filters.OrderingFilter(fields=(("model__name", "model"), *_USAGE_ORDERING))

    class Meta:
        model = UsageDaily
        fields = ["start", "end", "model", "currency"]


class UnratedFilter(StyledFilterSet):
    reason = django_filters.ChoiceFilter(
        label=_("Reason"),
        choices=[(code, code) for code in UNRATED_REASONS],
        field_name="unrated_reason",
        lookup_expr="startswith",
        empty_label=_("All"),
    )
    source = django_filters.ModelChoiceFilter(
        label=_("Source"), queryset=GatewaySource.objects.all(), empty_label=_("All")
    )
    model = django_filters.CharFilter(
        label=_("Model as sent"), field_name="model_name", lookup_expr="icontains"
    )
    key = django_filters.CharFilter(label=_("Gateway key"), field_name="gateway_key", lookup_expr="icontains")
    o = django_filters.OrderingFilter(
        fields=(
            ("occurred_at", "time"),
            ("model_name", "model"),
            ("gateway_key", "key"),
            ("unrated_reason", "reason"),
        )
    )

    class Meta:
        model = UsageEvent
        fields = ["reason", "source", "model", "key"]


class UploadFilter(StyledFilterSet):
    state = django_filters.ChoiceFilter(
        label=_("State"), choices=UsageUpload.State.choices, empty_label=_("All")
    )
    source = django_filters.ModelChoiceFilter(
        label=_("Source"), queryset=GatewaySource.objects.all(), empty_label=_("All")
    )
    o = django_filters.OrderingFilter(
        fields=(
            ("created_at", "created"),
            ("size_bytes", "size"),
            ("state", "state"),
            ("accepted", "accepted"),
        )
    )

    class Meta:
        model = UsageUpload
        fields = ["state", "source"]


class PortalUsageFilter(CustomerUsageFilter):
    """The portal: a sub-distributor may pick one customer of its subtree (blank: all of them).

    The view limits the rows to what the user may see; ``customer`` only narrows them. Costs are not
    the customer's business, so they cannot sort by them either.
    """

    customer = django_filters.ModelChoiceFilter(
        label=_("Customer"), queryset=_visible_customers, empty_label=_("All my customers")
    )
    o = django_filters.OrderingFilter(
        fields=(("model__name", "model"), *(f for f in _USAGE_ORDERING if f[0] not in ("cost", "margin")))
    )

    class Meta:
        model = UsageDaily
        fields = ["customer", "start", "end", "model", "currency"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        home = getattr(getattr(request, "user", None), "membership", None)
        if home is None or not home.customer.is_sub_distributor:
            del self.filters["customer"]
            self.form.fields.pop("customer", None)
