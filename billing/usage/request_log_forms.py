"""The request log's search form: a time range in the reader's time zone, filters, and the page cursor."""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Customer, User
from accounts.selectors import customers_visible_to
from billing.usage.request_log import (
    DEFAULT_RANGE,
    MAX_RANGE,
    Cursor,
    RequestLogQuery,
    RequestStatus,
    request_log_customers,
)

# What a datetime-local input sends and shows: minutes, in the reader's (the active) time zone.
INPUT_FORMAT = "%Y-%m-%dT%H:%M"
_TEXT = {"class": "form-control form-control-sm"}


def _when() -> forms.DateTimeInput:
    return forms.DateTimeInput(
        attrs={"type": "datetime-local", "class": "form-control form-control-sm"}, format=INPUT_FORMAT
    )


class RequestLogForm(forms.Form):
    """Bound to the query string; an empty one searches the last 24 hours (up to the current minute)."""

    start = forms.DateTimeField(label=pgettext_lazy("time range", "From"), required=False, widget=_when())
    end = forms.DateTimeField(
        label=pgettext_lazy("time range", "To"),
        required=False,
        widget=_when(),
        help_text=_("Up to, not including, this minute."),
    )
    request_id = forms.CharField(
        label=_("Request id"),
        required=False,
        max_length=200,
        strip=True,
        widget=forms.TextInput(attrs={**_TEXT, "placeholder": _("Any date"), "autocomplete": "off"}),
        help_text=_("Searched at every date, whatever the range."),
    )
    gateway_key = forms.CharField(
        label=_("Gateway key"),
        required=False,
        max_length=200,
        strip=True,
        widget=forms.TextInput(attrs=_TEXT),
    )
    model = forms.CharField(
        label=_("Model"), required=False, max_length=200, strip=True, widget=forms.TextInput(attrs=_TEXT)
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any")), *RequestStatus.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    customer = forms.ModelChoiceField(
        label=_("Customer"),
        required=False,
        queryset=Customer.objects.none(),
        empty_label=_("All"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    cursor = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data, *, user: User, now: datetime | None = None):
        self.user = user
        data = data.copy()
        now = timezone.localtime(now or timezone.now())
        _defaults(data, now)
        super().__init__(data)
        visible = customers_visible_to(user)
        # One customer to choose from is no choice: an end customer's form has no customer field.
        if user.is_operator_staff or visible[:2].count() > 1:
            self.fields["customer"].queryset = visible.order_by("name")
        else:
            del self.fields["customer"]

    def _post_clean(self):
        super()._post_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()

    def clean_cursor(self) -> Cursor | None:
        token = self.cleaned_data["cursor"]
        if not token:
            return None
        try:
            return Cursor.decode(token)
        except ValueError:
            raise forms.ValidationError(
                _("This page link is not valid (it may be cut short): search again from the first page.")
            ) from None

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return data  # the field's own error says what is wrong with it
        if start >= end:
            self.add_error("end", _("“To” must be later than “From”."))
        elif end - start > MAX_RANGE:
            self.add_error(
                "end",
                _("At most %(days)d days at a time: move “From” or “To” closer together.")
                % {"days": MAX_RANGE.days},
            )
        return data

    def query(self) -> RequestLogQuery:
        """The search the valid form describes, within the customers the user may see."""
        data = self.cleaned_data
        customer = data.get("customer")
        return RequestLogQuery(
            start=data["start"],
            end=data["end"],
            customers=request_log_customers(self.user, customer.pk if customer else None),
            gateway_key=data["gateway_key"],
            model=data["model"],
            request_id=data["request_id"],
            status=data["status"],
        )


def _defaults(data, now: datetime) -> None:
    """Fill a missing end of the range: the last 24 hours up to the current minute (included)."""
    if data.get("start") and data.get("end"):
        return
    if not data.get("end"):
        until = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if data.get("start"):
            try:
                start = forms.DateTimeField().clean(data["start"])
            except forms.ValidationError:
                return  # the start's error is shown; leave the end empty
            until = min(until, timezone.localtime(start) + DEFAULT_RANGE)
        data["end"] = until.strftime(INPUT_FORMAT)
    if not data.get("start"):
        try:
            end = forms.DateTimeField().clean(data["end"])
        except forms.ValidationError:
            return
        data["start"] = (timezone.localtime(end) - DEFAULT_RANGE).strftime(INPUT_FORMAT)
