import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

# django-filter's NullBooleanSelect offers "Unknown" for "no filter"; people filtering a list mean "any".
_YES_NO_ANY = [("", _("Any")), ("true", _("Yes")), ("false", _("No"))]


class StyledFilterSet(django_filters.FilterSet):
    """A FilterSet whose form widgets carry Bootstrap's classes, so every list's filters look alike."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            if isinstance(field.widget, forms.NullBooleanSelect):
                field.widget = forms.Select(choices=_YES_NO_ANY)
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)
