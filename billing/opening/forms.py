"""The upload form of the opening-balance page: what the file holds, and the file."""

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from billing.opening.models import OpeningImport
from billing.opening.services import MAX_BYTES


class OpeningUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("The file holds"), choices=OpeningImport.Kind.choices)
    file = forms.FileField(
        label=_("CSV file"), help_text=_("UTF-8 (with or without BOM) or GBK, as Excel saves it.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].widget.attrs["class"] = "form-select"
        self.fields["file"].widget.attrs.update({"class": "form-control", "accept": ".csv,text/csv"})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; an import takes at most %(limit)s: split it.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(MAX_BYTES)}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload
