"""The reconciliation pages' forms: "run now" and the filters of the runs and lines lists."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from billing.upstream.models import ReconciliationLine, ReconciliationRun, ReconClass
from billing.upstream.reconcile.run import MAX_DAYS
from catalog.models import Channel
from common.filters import StyledFilterSet
from common.forms import BootstrapFormMixin

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RunForm(BootstrapFormMixin, forms.Form):
    date_from = forms.DateField(label=_("From"), widget=DATE)
    date_to = forms.DateField(label=_("To (inclusive)"), widget=DATE)
    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=Channel.objects.order_by("name"),
        required=False,
        empty_label=_("Every active channel"),
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The last day must not be before the first."))
        elif start and end and (end - start).days >= MAX_DAYS:
            self.add_error("date_to", _("Reconcile at most %(days)s days at a time.") % {"days": MAX_DAYS})
        return data


class RunFilter(StyledFilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=ReconciliationRun.Kind.choices)
    state = django_filters.ChoiceFilter(label=_("State"), choices=ReconciliationRun.State.choices)
    covers = django_filters.DateFilter(label=_("Covers day"), method="covering", widget=DATE)
    o = django_filters.OrderingFilter(
        fields=(("started_at", "started"), ("date_from", "from"), ("date_to", "to"), ("kind", "kind"))
    )

    class Meta:
        model = ReconciliationRun
        fields = ["kind", "state", "covers"]

    def covering(self, queryset, name, value):
        return queryset.filter(date_from__lte=value, date_to__gte=value)


class LineFilter(StyledFilterSet):
    klass = django_filters.ChoiceFilter(label=_("Class"), choices=ReconClass.choices)
    channel = django_filters.ModelChoiceFilter(label=_("Channel"), queryset=Channel.objects.order_by("name"))
    model_name = django_filters.CharFilter(label=_("Model"), lookup_expr="icontains")
    day = django_filters.DateFilter(label=_("Day"), widget=DATE)
    o = django_filters.OrderingFilter(
        fields=(
            ("day", "day"),
            ("channel__name", "channel"),
            ("model_name", "model"),
            ("klass", "class"),
            ("value", "value"),
        )
    )

    class Meta:
        model = ReconciliationLine
        fields = ["klass", "channel", "model_name", "day"]
