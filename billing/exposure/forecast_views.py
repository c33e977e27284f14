"""The forecast page (``/reports/forecast/``): admin and finance, auditors read; others are refused.

A GET form chooses the trend window (28–90 days) and the horizon (7–180 days); a value out of range or
not a whole number is answered on its field (400) and nothing is computed.
"""

from decimal import Decimal

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.exposure.forecast import (
    HORIZON_DEFAULT,
    HORIZON_MAX,
    HORIZON_MIN,
    WINDOW_DEFAULT,
    WINDOW_MAX,
    WINDOW_MIN,
    forecast,
)
from common.csv_export import csv_response, csv_text
from common.forms import BootstrapFormMixin

FORECAST_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)
CENTS = Decimal("0.01")  # the chart's points: the base currency's minor unit


class ForecastForm(BootstrapFormMixin, forms.Form):
    window = forms.IntegerField(
        label=gettext_lazy("Trend window (days)"),
        min_value=WINDOW_MIN,
        max_value=WINDOW_MAX,
        initial=WINDOW_DEFAULT,
        help_text=gettext_lazy("The past days the consumption trend is fitted on (28–90)."),
    )
    horizon = forms.IntegerField(
        label=gettext_lazy("Horizon (days)"),
        min_value=HORIZON_MIN,
        max_value=HORIZON_MAX,
        initial=HORIZON_DEFAULT,
        help_text=gettext_lazy("How many days ahead to project (7–180)."),
    )


def _chart(result) -> dict:
    return {
        "labels": [on.isoformat() for on, _value in result.curve],
        "float": [str(value.quantize(CENTS)) for _on, value in result.curve],
        "title": _("Projected funded float (%(currency)s)") % {"currency": result.currency},
    }


def _need_rows(result):
    """The cash need table, one row per channel, amounts exact in the contract currency."""
    yield [
        "vendor", "channel", "currency", "settlement", "payment_terms_days", "trend_today_per_day",
        "trend_change_per_day", "projected_consumption", "prepaid_unused", "accrued", "runs_out_on",
        "open_invoices_due", "top_up", "billed", "billed_and_due", "to_fund", "to_fund_vendor_base",
        "base_currency", "window_days", "horizon_days",
    ]  # fmt: skip
    for vendor in result.vendors:
        for need in vendor.channels:
            contract = need.channel.contract
            yield [
                vendor.name, need.channel.name, need.currency, contract.settlement,
                contract.payment_terms_days, need.trend.today(), need.trend.slope, need.consumption,
                need.balance if need.prepaid else None, None if need.prepaid else need.accrued,
                need.runs_out_on, need.bills_due, need.top_up, need.billed, need.billed_due, need.to_fund,
                vendor.total_base, result.currency, result.window, result.horizon,
            ]  # fmt: skip


@staff_required(roles=FORECAST_ROLES)
def forecast_page(request):
    data = {
        "window": request.GET.get("window") or WINDOW_DEFAULT,
        "horizon": request.GET.get("horizon") or HORIZON_DEFAULT,
    }
    form = ForecastForm(data)
    if not form.is_valid():
        return render(request, "exposure/forecast.html", {"form": form}, status=400)
    today = timezone.localdate()
    result = forecast(today, window=form.cleaned_data["window"], horizon=form.cleaned_data["horizon"])
    if request.GET.get("format") == "csv":
        return csv_response(csv_text(_need_rows(result)), f"upstream-cash-need-{today:%Y%m%d}.csv")
    context = {
        "form": form,
        "result": result,
        "chart": _chart(result) if result.curve else None,
        "weeks": result.collections.by_week(today, result.horizon),
    }
    return render(request, "exposure/forecast.html", context)
