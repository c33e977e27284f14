"""The provider mappings page's filter and form (``litellm_provider`` → vendor, channel cost book or skip)."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.forms import BootstrapMixin
from catalog.models import BookKind, PriceBook, ProviderMapping, Vendor
from common.filters import StyledFilterSet


class ProviderMappingFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    action = django_filters.ChoiceFilter(label=_("Action"), choices=ProviderMapping.Action.choices)
    vendor = django_filters.ModelChoiceFilter(label=_("Vendor"), queryset=Vendor.objects.all())
    o = django_filters.OrderingFilter(
        fields=(
            ("provider", "provider"),
            ("action", "action"),
            ("vendor__name", "vendor"),
            ("updated_at", "updated"),
        )
    )

    class Meta:
        model = ProviderMapping
        fields = ["action", "vendor"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(provider__icontains=value) | Q(note__icontains=value) | Q(channel_book__name__icontains=value)
        )


class ProviderMappingForm(BootstrapMixin, forms.Form):
    provider = forms.CharField(
        label=_("LiteLLM provider"),
        max_length=80,
        help_text=_("As LiteLLM spells it: bedrock, deepseek, azure …"),
    )
    action = forms.ChoiceField(label=_("Action"), choices=ProviderMapping.Action.choices)
    vendor = forms.ModelChoiceField(
        label=_("Vendor"),
        queryset=Vendor.objects.all(),
        required=False,
        help_text=_("For “our vendor's own prices”: the vendor whose models these entries are."),
    )
    channel_book = forms.ModelChoiceField(
        label=_("Channel cost book"),
        queryset=PriceBook.objects.filter(kind=BookKind.COST, owner__isnull=True),
        required=False,
        help_text=_("For a reseller channel: the cost book its entries are imported into."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
