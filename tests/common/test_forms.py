"""A service's refusal lands on the form whatever its shape, never as a server error."""

from django import forms
from django.core.exceptions import ValidationError

from common.forms import form_errors_add


class AmountForm(forms.Form):
    amount = forms.DecimalField()


def _bound():
    form = AmountForm({"amount": "1"})
    assert form.is_valid()
    return form


def test_per_field_messages_go_to_their_field_and_unknown_fields_above_the_form():
    form = _bound()
    form_errors_add(form, ValidationError({"amount": "Too much.", "currency": "Not ours."}))
    assert form.errors["amount"] == ["Too much."]
    assert form.non_field_errors() == ["Not ours."]


def test_a_single_message_goes_above_the_form():
    # ``exc.message_dict`` on such an error raises AttributeError: a view that read it answered 500.
    form = _bound()
    form_errors_add(form, ValidationError("The period is closed."))
    assert form.non_field_errors() == ["The period is closed."]
    assert "amount" not in form.errors
