"""The margin report's choices, bound to the query string: every field may be left out (this month by
vendor, compared with last month, no filter). A bad value is answered on its field and the report falls
back to that field's default, so the page always shows figures and says what it ignored."""

from datetime import date

from django import forms
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.invoicing.periods import PeriodError, local_day, period_of_day, period_parse
from billing.upstream.margin.dimensions import Dimension, Grain
from billing.upstream.margin.selectors import UNMAPPED, Scope
from catalog.models import AIModel, Channel, Vendor
from catalog.selectors.currencies import currency_choice_field

MAX_DAYS = 366


class MarginForm(forms.Form):
    dimension = forms.ChoiceField(label=_("Group by"), choices=Dimension.choices, required=False)
    grain = forms.ChoiceField(label=_("Period rows by"), choices=Grain.choices, required=False)
    period = forms.CharField(
        label=_("Month or quarter"),
        required=False,
        help_text=_("2026-05 or 2026-Q2; a custom range below takes precedence."),
        widget=forms.TextInput(attrs={"placeholder": "2026-05"}),
    )
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    vendor = forms.ModelChoiceField(
        label=_("Vendor"),
        queryset=Vendor.objects.order_by("name"),
        required=False,
        empty_label=_("every vendor"),
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    model = forms.ModelChoiceField(
        label=_("Model"),
        queryset=AIModel.objects.select_related("vendor").order_by("name"),
        required=False,
        empty_label=_("every model"),
    )
    customer = forms.CharField(
        label=_("Customer code"),
        required=False,
        help_text=_("One of our buyers: a direct customer or a sub-distributor."),
    )
    sell_currency = currency_choice_field(label=_("Sale currency"), required=False)
    cost_currency = currency_choice_field(label=_("Cost currency"), required=False)

    def __init__(self, data=None):
        super().__init__(data)
        channels = Channel.objects.select_related("contract").order_by("name")
        self.fields["channel"].choices = [
            ("", _("every channel")),
            (UNMAPPED, _("unmapped upstream accounts")),
            *[(str(c.pk), f"{c.name} ({c.contract.currency})") for c in channels],
        ]
        for name in ("sell_currency", "cost_currency"):
            field = self.fields[name]
            field.choices = [("", _("any")), *field.choices]
        for field in self.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if select else "form-control form-control-sm"
            )

    def clean_period(self) -> str:
        value = (self.cleaned_data.get("period") or "").strip()
        if value:
            try:
                return period_parse(value).label
            except PeriodError as error:
                raise forms.ValidationError(str(error)) from None
        return value

    def clean_channel(self):
        value = self.cleaned_data.get("channel") or ""
        if value in ("", UNMAPPED):
            return value or None
        return Channel.objects.get(pk=int(value))

    def clean_customer(self) -> Customer | None:
        code = (self.cleaned_data.get("customer") or "").strip()
        if not code:
            return None
        customer = Customer.objects.filter(code__iexact=code).select_related("seller").first()
        if customer is None:
            raise forms.ValidationError(_t("No customer has the code %(code)s.") % {"code": code})
        if customer.seller is not None:
            message = _t(
                "%(customer)s is sold by %(seller)s, not by us: its requests are inside %(seller)s's "
                "purchases. Choose %(seller)s, or see its hops on the margin-per-hop page."
            )
            raise forms.ValidationError(message % {"customer": customer.name, "seller": customer.seller.name})
        return customer

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if (start is None) != (end is None) and not self.has_error("start") and not self.has_error("end"):
            missing = "end" if end is None else "start"
            self.add_error(missing, _t("A custom range needs both its first and its last day."))
        elif start is not None and end is not None:
            if end < start:
                self.add_error(
                    "end",
                    _t("The last day %(end)s is before the first day %(start)s.")
                    % {
                        "end": end.isoformat(),
                        "start": start.isoformat(),
                    },
                )
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error("end", _t("A custom range covers at most %(days)s days.") % {"days": MAX_DAYS})
        return data

    def choice(self) -> tuple[Scope, str, str, str]:
        """The report to show: (scope, period label or "" for a custom range, dimension, grain), from the
        valid fields and each invalid or absent one's default."""
        data = {}
        if self.is_bound:
            self.is_valid()  # the valid fields land in cleaned_data; the others keep their errors
            data = self.cleaned_data
        start, end, label = self._range(data)
        customer = data.get("customer")
        vendor, model = data.get("vendor"), data.get("model")
        scope = Scope(
            start=start,
            end=end,
            vendor_id=vendor.pk if vendor else None,
            channel=data.get("channel"),
            model_id=model.pk if model else None,
            customer_id=customer.pk if customer else None,
            sell_currency=data.get("sell_currency") or "",
            cost_currency=data.get("cost_currency") or "",
        )
        dimension = data.get("dimension") or Dimension.VENDOR
        return scope, label, dimension, data.get("grain") or Grain.DAY

    def _range(self, data: dict) -> tuple[date, date, str]:
        if data.get("start") and data.get("end") and not self.has_error("end"):
            return data["start"], data["end"], ""
        period = period_parse(data["period"]) if data.get("period") else period_of_day(local_day())
        return period.start, period.end, period.label
