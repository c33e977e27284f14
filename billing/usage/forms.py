"""Forms of the usage pages: file uploads."""

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.usage.models import GatewaySource, SourceKind
from common.forms import BootstrapFormMixin


class UsageUploadForm(BootstrapFormMixin, forms.Form):
    source = forms.ModelChoiceField(
        label=_("Gateway source"),
        queryset=GatewaySource.objects.filter(is_active=True),
        help_text=_("Request ids are deduplicated per source; keys are looked up for this source first."),
    )
    fmt = forms.ChoiceField(
        label=_("Format"),
        choices=SourceKind.choices,
        initial=SourceKind.GENERIC,
        help_text=_("The layout of each row: canonical events, or a gateway's own export."),
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV, NDJSON (one JSON object per line) or a JSON array; any size — it is streamed."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.ndjson,.jsonl,.json,.txt"}),
    )
