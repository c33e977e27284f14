"""Filters for the usage pages: daily rollups by date range, customer, model, vendor, currency and book; the
unrated queue; uploads."""

import django_filters
from django import forms
from django.db.models import F
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from accounts.selectors import customers_visible_to
from billing.usage.models import GatewaySource, UsageDaily, UsageEvent, UsageUpload
from billing.usage.selectors import UNRATED_REASONS, book_customers, default_range
from billing.usage.stored_messages import UNRATED_LABELS
from catalog.models import AIModel, Vendor
from common.filters import StyledFilterSet

_DATE = forms.DateInput(attrs={"type": "date"})
_USAGE_ORDERING = (
    ("requests", "requests"),
    ("tokens", "tokens"),
    ("prompt_tokens", "input"),
    ("completion_tokens", "output"),
    # Sales rank in the base currency across sell currencies (billing.usage.selectors: sell_base).
    ("sell_base", "sell"),
    ("cost", "cost"),
    ("margin", "margin"),
)


class _UsageOrdering(django_filters.OrderingFilter):
    """The by-model table's column sorts; rows without a base-currency figure (no rate) last either way."""

    def get_ordering_value(self, param):
        value = super().get_ordering_value(param)
        if value.lstrip("-") != "sell_base":
            return value
        column = F("sell_base")
        return column.desc(nulls_last=True) if value.startswith("-") else column.asc(nulls_last=True)


def _visible_customers(request):
    """The customers the signed-in user may see (the filter's form is built before __init__ returns)."""
    if request is None:
        return Customer.objects.none()
    return customers_visible_to(request.user).order_by("path")


def _resellers(request=None):
    return Customer.objects.filter(
        kind=Customer.Kind.SUB_DISTRIBUTOR, chain_mode=Customer.ChainMode.RESALE
    ).order_by("name")


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
        return self.restrict(queryset)

    def filter_queryset(self, queryset):
        return self.restrict(super().filter_queryset(queryset))

    def restrict(self, queryset):
        """What every reading of the rows gets besides the fields' filters (nothing here)."""
        return queryset

    def period(self):
        """The (start, end) dates shown, filling an open end from the default range."""
        data = self.form.cleaned_data if self.is_valid() else {}
        default_start, default_end = default_range()
        end = data.get("end") or default_end
        start = data.get("start") or min(default_start, end)
        return start, end


class UsageFilter(_RollupFilter):
    """The staff overview: one book's sales (the operator's by default), any model or vendor.

    Each request is stored once per hop of the chain (under every buyer up to the operator), so totals
    over every customer would count a reseller's customers' requests twice or more. The overview reads
    one book: the operator's sales (customers sold by the operator: a reseller once, for its whole
    subtree at wholesale) or, with ``book``, one reseller's sales to its customers. A chosen ``customer``
    shows that customer's own rows whatever its book (one customer's rows never repeat a request).
    """

    book = django_filters.ModelChoiceFilter(
        label=_("Sales of"),
        queryset=_resellers,
        empty_label=_("the operator"),
        method="book_chosen",
    )
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
    group = django_filters.ChoiceFilter(
        label=_("Group customers by"),
        choices=[("sub_distributor", _("sub-distributor"))],
        empty_label=_("customer"),
        method="group_chosen",
    )
    # The margin report in one currency: the page adds sales, cost and margin in the base currency.
    amounts = django_filters.ChoiceFilter(
        label=_("Amounts in"),
        choices=[("base", _("the base currency too"))],
        empty_label=_("each sell currency"),
        method="amounts_shown",
    )
    o = _UsageOrdering(fields=(("model__name", "model"), ("model__vendor__name", "vendor"), *_USAGE_ORDERING))

    class Meta:
        model = UsageDaily
        fields = ["start", "end", "book", "customer", "model", "vendor", "currency", "group", "amounts"]

    def amounts_shown(self, queryset, name, value):
        """Choose how the page shows money; the rows are the same either way."""
        return queryset

    def group_chosen(self, queryset, name, value):
        """Choose the customers table's grouping; the rows are the same either way."""
        return queryset

    def book_chosen(self, queryset, name, value):
        """Applied by ``restrict``, with the operator's book when none is chosen."""
        return queryset

    def restrict(self, queryset):
        data = self.form.cleaned_data
        if data.get("customer") is not None:
            return queryset
        return queryset.filter(customer__in=book_customers(data.get("book")))

    def chosen(self, name: str):
        """A field's cleaned value (None while the filter is invalid)."""
        return self.form.cleaned_data.get(name) if self.is_valid() else None


class CustomerUsageFilter(_RollupFilter):
    """One customer's usage (staff per-customer page, portal): date range, model, currency."""

    model = django_filters.ModelChoiceFilter(
        label=_("Model"),
        queryset=AIModel.objects.select_related("vendor").order_by("name"),
        empty_label=_("All"),
    )
    o = _UsageOrdering(fields=(("model__name", "model"), *_USAGE_ORDERING))

    class Meta:
        model = UsageDaily
        fields = ["start", "end", "model", "currency"]


class UnratedFilter(StyledFilterSet):
    reason = django_filters.ChoiceFilter(
        label=_("Reason"),
        choices=[(code, _(UNRATED_LABELS[code])) for code in UNRATED_REASONS],
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

    show = django_filters.ChoiceFilter(
        label=_("Show"),
        choices=[("purchases", _("my own purchases"))],
        empty_label=_("my customers' usage"),
        method="show_chosen",
    )
    customer = django_filters.ModelChoiceFilter(
        label=_("Customer"), queryset=_visible_customers, empty_label=_("All my customers")
    )
    o = _UsageOrdering(
        fields=(("model__name", "model"), *(f for f in _USAGE_ORDERING if f[0] not in ("cost", "margin")))
    )

    class Meta:
        model = UsageDaily
        fields = ["show", "customer", "start", "end", "model", "currency"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        home = getattr(getattr(request, "user", None), "membership", None)
        if home is None or not home.customer.is_sub_distributor:
            for name in ("show", "customer"):
                del self.filters[name]
                self.form.fields.pop(name, None)

    def show_chosen(self, queryset, name, value):
        """The view picks the rows (its customers' or its own) from this choice; nothing to filter here."""
        return queryset
