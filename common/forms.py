"""Form helpers every app shares."""

from django import forms
from django.core.exceptions import ValidationError


def bootstrap_style(fields) -> None:
    """Give each field's widget Bootstrap's class (selects, checkboxes and inputs alike)."""
    for field in fields:
        if isinstance(field.widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(field.widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        field.widget.attrs.setdefault("class", css)


class BootstrapFormMixin:
    """Give every widget Bootstrap's class; a form that adds fields in its own ``__init__`` styles those
    with ``bootstrap_style``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_style(self.fields.values())


def form_errors_add(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ``ValidationError`` on ``form``: each message on its field when the form has that
    field, else above the form. Services raise either kind (per field or one message); both land here."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
