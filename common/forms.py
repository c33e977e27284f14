"""Form helpers every app shares."""

from django import forms


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
