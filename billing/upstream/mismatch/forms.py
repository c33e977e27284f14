"""Forms of the 货不对版 pages: a flag's state, an on-demand scan, a channel's monthly dispute pack."""

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.invoicing.periods import PeriodError, period_parse
from billing.upstream.mismatch.services import scan_days_check
from billing.upstream.models import MismatchFlag
from catalog.models import Channel

# A scan from the page runs in the request: a month at most (the command and the task scan longer).
PAGE_SCAN_DAYS = 31
_DATE = forms.DateInput(attrs={"type": "date"})


class _Styled(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)


class StateForm(_Styled):
    state = forms.ChoiceField(label=_("State"), choices=MismatchFlag.State.choices)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What was sent to the vendor, or why the flag is dismissed."),
    )


class ScanForm(_Styled):
    date_from = forms.DateField(label=_("From"), widget=_DATE)
    date_to = forms.DateField(label=_("To"), widget=_DATE)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            try:
                scan_days_check(start, end)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict) from None
            if (end - start).days + 1 > PAGE_SCAN_DAYS:
                self.add_error(
                    "date_to",
                    _("Scan at most %(days)s days from this page; use the mismatch_scan command for more.")
                    % {"days": PAGE_SCAN_DAYS},
                )
            if end >= timezone.localdate() + timedelta(days=1):
                self.add_error("date_to", _("The last day cannot be in the future."))
        return data


class PackForm(_Styled):
    channel = forms.ModelChoiceField(label=_("Channel"), queryset=Channel.objects.order_by("name"))
    month = forms.CharField(label=_("Month (YYYY-MM)"), max_length=7)
    fmt = forms.ChoiceField(label=_("Format"), choices=[("pdf", "PDF"), ("csv", "CSV")], initial="pdf")
    lang = forms.ChoiceField(
        label=_("Language"),
        choices=[("zh-hans", "中文"), ("en", "English")],
        initial="zh-hans",
        required=False,
    )

    def clean_month(self):
        try:
            period = period_parse(self.cleaned_data["month"])
        except PeriodError as exc:
            raise ValidationError(str(exc)) from exc
        if period.is_quarter:
            raise ValidationError(_("A dispute pack covers one month: write it as YYYY-MM."))
        return period
