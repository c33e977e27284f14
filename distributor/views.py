"""The landing redirect and the staff dashboard: the owner's morning screen of working capital and risk."""

from datetime import date
from decimal import Decimal

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import StaffRole
from accounts.permissions import staff_required
from accounts.selectors import customers_visible_to, home_customer
from billing.customers.selectors import customer_mix
from billing.exposure.figures import FIGURES
from billing.exposure.snapshots import first_posting_day, float_trend, payload_for
from common.outbox import outbox_unsent_count

FULL = {StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.AUDITOR}
# Who may write a past day's snapshot by opening it; every other role reads the figures without storing.
STORES = {StaffRole.ADMIN, StaffRole.FINANCE}
# What each role sees: sales the customer side (no cash, float, vendors or cost), support its queues.
SECTIONS = {
    "capital": FULL,
    "customers": FULL | {StaffRole.SALES},
    "revenue": FULL | {StaffRole.SALES},
    "margin": FULL,
    "cycle": FULL,
    "exposures": FULL | {StaffRole.SALES},
    "watch": FULL | {StaffRole.SALES},
    "wallets": FULL | {StaffRole.SALES, StaffRole.SUPPORT},
    "unrated": FULL | {StaffRole.SUPPORT},
    "recon": FULL | {StaffRole.SUPPORT},
}
CAPITAL_FIGURES = ("cash", "funded_float", "upstream_prepaid", "payables")
CUSTOMER_FIGURES = ("receivables", "overdue", "unbilled", "deposits")
FINANCE_PAGES = {StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.AUDITOR}
# Where each figure is explained in detail: (URL name, query, roles that may open it; None: every staff).
DETAIL = {
    "cash": ("staff-ledger-accounts", "kind=cash_bank", FINANCE_PAGES),
    "funded_float": ("exposure-forecast", "", None),
    "receivables": ("exposure-aging", "", None),
    "overdue": ("exposure-aging", "", None),
    "unbilled": ("staff-ledger-accounts", "kind=unbilled_receivable", FINANCE_PAGES),
    "deposits": ("staff-wallet-list", "", None),
    "upstream_prepaid": ("upstream-ledger", "", FINANCE_PAGES),
    "payables": ("upstream-bills", "", FINANCE_PAGES),
    "revenue": ("staff-usage", "", None),
    "cost": ("staff-upstream-margin", "", FINANCE_PAGES),
    "margin": ("staff-upstream-margin", "", FINANCE_PAGES),
    "cycle": ("exposure-forecast", "", None),
    "exposures": ("exposure-risk", "", None),
    "wallets": ("staff-wallet-list", "", None),
    "unrated": ("staff-usage-unrated", "", None),
    "recon": ("upstream-recon-runs", "", FINANCE_PAGES),
}
METRICS = (
    ("dso", gettext_lazy("DSO"), gettext_lazy("DSO = receivables ÷ credit sales of the last 90 days × 90")),
    (
        "dpo",
        gettext_lazy("DPO"),
        gettext_lazy("DPO = payables ÷ upstream purchases of the last 90 days × 90"),
    ),
    (
        "cover_days",
        gettext_lazy("Days of prepaid cover"),
        gettext_lazy("Days of prepaid cover = upstream prepaid ÷ (cost of tokens of the last 90 days ÷ 90)"),
    ),
    (
        "ccc",
        gettext_lazy("Cash conversion cycle"),
        gettext_lazy("Cash conversion cycle = DSO + days of prepaid cover − DPO"),
    ),
)


class DayForm(forms.Form):
    day = forms.DateField(
        label=gettext_lazy("As of"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": gettext_lazy("Enter a date as YYYY-MM-DD.")},
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
    )

    def clean_day(self):
        day = self.cleaned_data["day"]
        if day is not None and day > timezone.localdate():
            raise forms.ValidationError(_("%(day)s has not happened yet.") % {"day": day.isoformat()})
        if day is not None and day.year < 2000:
            raise forms.ValidationError(_("Pick a day from 2000 on."))
        if day is not None and day < timezone.localdate():
            first = first_posting_day()
            if first is None:
                raise forms.ValidationError(
                    _("Nothing has been posted to the ledger yet: there is no past day to show.")
                )
            if day < first:
                raise forms.ValidationError(
                    _("The ledger starts on %(first)s: pick a day from then on.")
                    % {"first": first.isoformat()}
                )
        return day


@login_required
def home(request):
    """Send each user to its shell: staff to the dashboard, customer users to the portal."""
    if request.user.is_operator_staff:
        return redirect("dashboard")
    if home_customer(request.user) is not None:
        return redirect("portal-home")
    raise PermissionDenied


def _link(name: str, role: str) -> str | None:
    """The detail page of ``name`` if ``role`` may open it and it exists (a report not built yet: None)."""
    url_name, query, roles = DETAIL[name]
    if roles is not None and role not in roles:
        return None
    try:
        url = reverse(url_name)
    except NoReverseMatch:
        return None
    return f"{url}?{query}" if query else url


def _split(payload: dict, name: str) -> list[tuple[str, str]]:
    """``(currency, amount)`` of one figure where it is not zero."""
    return [(c, v[name]) for c, v in payload["currencies"].items() if v.get(name) and Decimal(v[name])]


def _card(payload: dict, name: str, role: str) -> dict:
    figure = FIGURES[name]
    return {
        "name": name,
        "label": figure.label,
        "formula": figure.formula,
        "base": payload["base"][name],
        "split": _split(payload, name),
        "url": _link(name, role),
    }


def _pl_rows(payload: dict, names, role: str) -> list[dict]:
    """This month's revenue (cost, margin) beside last month's, with the change in percent."""
    rows = []
    for name in names:
        card = _card(payload, name, role)
        this, last = Decimal(payload["base"][name]), Decimal(payload["base"][name + "_prev"])
        card["prev"] = payload["base"][name + "_prev"]
        card["prev_split"] = _split(payload, name + "_prev")
        card["change"] = None if not last else ((this - last) / abs(last) * 100).quantize(Decimal("0.1"))
        rows.append(card)
    return rows


def _metric_cards(payload: dict, role: str) -> list[dict]:
    metrics = payload["metrics"]
    url = _link("cycle", role)
    return [
        {"name": name, "label": label, "formula": formula, "value": metrics.get(name), "url": url}
        for name, label, formula in METRICS
    ]


@staff_required()
def dashboard(request):
    """The owner's morning screen for today, or for ``?day=YYYY-MM-DD`` as that day was."""
    role = request.user.staff_role
    shown = {section for section, roles in SECTIONS.items() if role in roles}
    form = DayForm(request.GET or None)
    day = form.cleaned_data["day"] if form.is_valid() else None
    today = timezone.localdate()
    if day == today:
        day = None
    store = role in STORES
    payload, snapshot = payload_for(day, store=store)
    context = {
        "form": form,
        "day": date.fromisoformat(payload["day"]),
        "is_past": day is not None,
        "snapshot": snapshot,
        "shown": shown,
        "base_currency": payload["base_currency"],
        "missing_rates": payload["missing_rates"],
        "mix": customer_mix(customers_visible_to(request.user)),
        "links": {
            name: _link(name, role) for name in ("exposures", "overdue", "wallets", "unrated", "recon")
        },
    }
    if "capital" in shown:
        context["capital"] = [_card(payload, name, role) for name in CAPITAL_FIGURES]
        context["trend"] = float_trend(
            context["day"], None if day is not None else payload["base"]["funded_float"], store=store
        )
    if "customers" in shown:
        context["customer_figures"] = [_card(payload, name, role) for name in CUSTOMER_FIGURES]
    if "revenue" in shown:
        context["pl"] = _pl_rows(
            payload, ("revenue", "cost", "margin") if "margin" in shown else ("revenue",), role
        )
    if "cycle" in shown:
        context["metrics"] = _metric_cards(payload, role)
        context["metrics_missing"] = payload["metrics"].get("missing_rates") or []
    if "exposures" in shown:
        context["exposures"] = payload["exposures"]
    if "watch" in shown:
        context["over_limit"] = payload["over_limit"]
        context["overdue_customers"] = payload["overdue_customers"]
    queues = payload.get("queues")
    context["queues_recorded"] = queues is not None
    context["counted_at"] = parse_datetime(payload["counted_at"]) if payload.get("counted_at") else None
    if queues is not None:
        context["low_wallets"] = queues["low_wallets"] if "wallets" in shown else None
        context["unrated"] = queues["unrated"] if "unrated" in shown else None
        context["recon"] = queues["recon"] if "recon" in shown else None
    if day is None and shown & {"unrated", "recon"}:
        # Live, never snapshotted: notifications kept while the task queue (Redis) was down, still unsent.
        context["outbox_unsent"] = outbox_unsent_count()
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "dashboard/overview.html", context, status=status)
