import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from billing.upstream.models import MismatchFlag
from catalog.models import Channel
from common.filters import StyledFilterSet

_DATE = forms.DateInput(attrs={"type": "date"})


class MismatchFlagFilter(StyledFilterSet):
    """Flags by channel, model, signal, state and day; sortable by each column and by strength."""

    channel = django_filters.ModelChoiceFilter(label=_("Channel"), queryset=Channel.objects.order_by("name"))
    model = django_filters.CharFilter(label=_("Model"), field_name="model_name", lookup_expr="icontains")
    signal = django_filters.ChoiceFilter(label=_("Signal"), choices=MismatchFlag.Signal.choices)
    state = django_filters.ChoiceFilter(label=_("State"), choices=MismatchFlag.State.choices)
    start = django_filters.DateFilter(label=_("From"), field_name="day", lookup_expr="gte", widget=_DATE)
    end = django_filters.DateFilter(label=_("To"), field_name="day", lookup_expr="lte", widget=_DATE)
    o = django_filters.OrderingFilter(
        fields=(
            ("day", "day"),
            ("channel__name", "channel"),
            ("model_name", "model"),
            ("signal", "signal"),
            ("score", "score"),
            ("state", "state"),
        )
    )

    class Meta:
        model = MismatchFlag
        fields = ["channel", "model", "signal", "state", "start", "end"]
