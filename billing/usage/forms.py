"""Forms of the usage pages: file uploads."""

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.usage.models import GatewaySource, SourceKind


class BootstrapFormMixin:
    """Give every widget Bootstrap's class (selects, checkboxes and inputs alike)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(field.widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            field.widget.attrs.setdefault("class", css)


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
