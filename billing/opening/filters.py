"""Filters of the opening imports' history: kind, state and file name; sortable by date, file and counts."""

import django_filters
from django.utils.translation import gettext_lazy as _

from billing.opening.models import OpeningImport
from common.filters import StyledFilterSet


class OpeningImportFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("File"), field_name="filename", lookup_expr="icontains")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=OpeningImport.Kind.choices)
    state = django_filters.ChoiceFilter(label=_("State"), choices=OpeningImport.State.choices)
    o = django_filters.OrderingFilter(
        fields=(
            ("created_at", "created"),
            ("filename", "file"),
            ("rows", "rows"),
            ("rejected", "rejected"),
        )
    )

    class Meta:
        model = OpeningImport
        fields = ["q", "kind", "state"]
