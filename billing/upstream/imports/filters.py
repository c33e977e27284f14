"""Filters of the imports list: format, state, channel and file name; sortable by date, file and counts."""

import django_filters
from django.utils.translation import gettext_lazy as _

from billing.upstream.models import UpstreamImport
from catalog.models import Channel
from common.filters import StyledFilterSet


class UpstreamImportFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("File"), field_name="filename", lookup_expr="icontains")
    fmt = django_filters.ChoiceFilter(label=_("Format"), choices=UpstreamImport.Format.choices)
    state = django_filters.ChoiceFilter(label=_("State"), choices=UpstreamImport.State.choices)
    channel = django_filters.ModelChoiceFilter(label=_("Channel"), queryset=Channel.objects.order_by("name"))
    o = django_filters.OrderingFilter(
        fields=(
            ("created_at", "created"),
            ("filename", "file"),
            ("rows", "rows"),
            ("rejected", "rejected"),
        )
    )

    class Meta:
        model = UpstreamImport
        fields = ["q", "fmt", "state", "channel"]
