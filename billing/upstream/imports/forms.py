"""The upload form of the imports page: a file, its format and, optionally, the channel it is for."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from billing.upstream.models import UpstreamImport
from catalog.models import Channel


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("File"))
    fmt = forms.ChoiceField(label=_("Format"), choices=UpstreamImport.Format.choices)
    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=Channel.objects.order_by("name"),
        required=False,
        empty_label=_("As the file says (key id or channel column)"),
        help_text=_("Every row is for this channel. Leave it for files whose rows name their channel."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css
            field.widget.attrs["id"] = f"id_{name}"
        self.fields["file"].widget.attrs["accept"] = ".json,.csv,application/json,text/csv"

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.UPSTREAM_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s; an import takes at most %(limit)s: split it by month.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload
