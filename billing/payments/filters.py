import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.payments.models import BankTransfer, CardTopUp, RedemptionBatch, StripeEvent
from billing.payments.selectors import NEEDS_ATTENTION, WAITING
from common.filters import StyledFilterSet


class BankTransferFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=BankTransfer.Status.choices)
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    value_after = django_filters.DateFilter(
        label=_("Value date from"), field_name="value_date", lookup_expr="gte"
    )
    value_before = django_filters.DateFilter(
        label=_("Value date to"), field_name="value_date", lookup_expr="lte"
    )
    o = django_filters.OrderingFilter(
        fields=(
            ("value_date", "value_date"),
            ("recorded_at", "recorded"),
            ("customer__name", "customer"),
            ("amount", "amount"),
            ("reference", "reference"),
            ("status", "status"),
        ),
    )

    class Meta:
        model = BankTransfer
        fields = ["q", "status", "currency"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(reference__icontains=value)
            | Q(customer__name__icontains=value)
            | Q(customer__code__icontains=value)
        )


class CardTopUpFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=CardTopUp.Status.choices)
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    o = django_filters.OrderingFilter(
        fields=(
            ("created_at", "created"),
            ("customer__name", "customer"),
            ("amount", "amount"),
            ("status", "status"),
        ),
    )

    class Meta:
        model = CardTopUp
        fields = ["q", "status", "currency"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(customer__name__icontains=value)
            | Q(payment_intent_id__icontains=value)
            | Q(stripe_session_id__icontains=value)
        )


class StripeEventFilter(StyledFilterSet):
    QUEUES = {"attention": NEEDS_ATTENTION, "waiting": WAITING}

    q = django_filters.CharFilter(label=_("Search"), method="search")
    queue = django_filters.ChoiceFilter(
        label=_("Queue"),
        choices=[("attention", _("Needs attention")), ("waiting", _("Waiting for an earlier event"))],
        method="in_queue",
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=StripeEvent.Status.choices)
    o = django_filters.OrderingFilter(
        fields=(("received_at", "received"), ("type", "type"), ("status", "status"))
    )

    class Meta:
        model = StripeEvent
        fields = ["q", "queue", "status"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(stripe_id__icontains=value)
            | Q(type__icontains=value)
            | Q(object_id__icontains=value)
            | Q(payment_intent_id__icontains=value)
        )

    def in_queue(self, queryset, name, value):
        return queryset.filter(self.QUEUES[value])


class RedemptionBatchFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), field_name="name", lookup_expr="icontains")
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    o = django_filters.OrderingFilter(
        fields=(("created_at", "created"), ("name", "name"), ("value", "value"), ("expires_at", "expires"))
    )

    class Meta:
        model = RedemptionBatch
        fields = ["q", "currency"]
