"""The upstream ledger pages: every channel's balance, burn rate and days of cover; one channel's ledger.

Roles: admin and finance read and write; auditors read; sales and support are refused (403). Writes are
POSTs to the services (``packs``, ``burn``; invoices and payments in ``bill_views``), which name the field
at fault; the channel page is shown again with the errors on its forms (400).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.upstream.burn import burn_day
from billing.upstream.cover import balance_by_day, cover_for_channels, projection
from billing.upstream.ledger_filters import LedgerFilter
from billing.upstream.ledger_forms import BillForm, BurnForm, PaymentForm, PurchaseForm
from billing.upstream.ledger_selectors import (
    LEDGER_SORTS,
    base_totals,
    bills_with_status,
    late_usage_true_ups,
    ledger_covers,
    pack_rows,
)
from billing.upstream.models import UpstreamDraw, VendorBill, VendorPayment
from billing.upstream.packs import upstream_pack_buy
from catalog.models import Channel
from common.csv_export import csv_lines, csv_response
from common.forms import form_errors_add
from common.listing import PAGE_SIZE

LEDGER_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)
CHART_DAYS = 60
# The purchase service's argument names → the form's fields, so its errors land on the right input.
PURCHASE_FIELDS = {"purchased_at": "purchased_on", "starts_at": "starts_on", "expires_at": "expires_on"}


def ledger_channels():
    return Channel.objects.select_related("contract__vendor").order_by("name")


@staff_required(roles=LEDGER_ROLES)
def ledger_list(request):
    today = timezone.localdate()
    filterset = LedgerFilter(request.GET or None, queryset=ledger_channels(), request=request)
    valid = not filterset.is_bound or filterset.is_valid()
    channels = (
        filterset.qs
        if filterset.is_bound and valid
        else (ledger_channels() if valid else Channel.objects.none())
    )
    low = bool(valid and filterset.is_bound and filterset.form.cleaned_data.get("low"))
    sort = request.GET.get("o") or "channel"
    if sort.lstrip("-") not in LEDGER_SORTS:
        sort = "channel"
    covers = ledger_covers(channels, sort=sort, low_only=low, today=today)
    if request.GET.get("format") == "csv":
        return csv_response(csv_lines(_ledger_csv_rows(covers)), f"upstream-ledger-{today:%Y%m%d}.csv")
    page = Paginator(covers, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter": filterset,
        "page_obj": page,
        "totals": base_totals(covers, today=today),
        "sort": sort,
        "today": today,
    }
    return render(request, "upstream/ledger/list.html", context)


def _ledger_csv_rows(covers):
    yield [
        "channel", "vendor", "contract", "currency", "settlement", "prepaid_balance", "burn_rate_per_day",
        "days_of_cover", "runs_out_on", "low_cover_days", "accrued", "payables",
    ]  # fmt: skip
    for c in covers:
        contract = c.channel.contract
        yield [
            c.channel.name, contract.vendor.name, contract.name, c.currency, contract.settlement,
            c.balance if c.prepaid else None, c.burn_rate, c.days, c.runs_out_on, c.channel.low_cover_days,
            c.accrued, c.payables,
        ]  # fmt: skip


def _open_bills(channel):
    open_ = VendorBill.objects.filter(channel=channel, state=VendorBill.State.OPEN, transaction__isnull=False)
    return open_.order_by("due_on", "number")


def channel_context(request, channel: Channel, **forms) -> dict:
    """Everything the channel ledger page shows; ``forms`` replace the blank ones (bound, with errors)."""
    today, now = timezone.localdate(), timezone.now()
    cover = cover_for_channels([channel], today=today)[channel.pk]
    history = balance_by_day(channel, days=CHART_DAYS, today=today)
    ahead = projection(cover, today=today)
    chart = {
        "labels": [d.isoformat() for d, _b in history] + [d.isoformat() for d, _b in ahead[1:]],
        "balance": [str(b) for _d, b in history] + [None] * max(len(ahead) - 1, 0),
        "projection": [None] * (len(history) - 1) + [str(b) for _d, b in ahead] if ahead else [],
    }
    bills = bills_with_status(VendorBill.objects.filter(channel=channel), today=today).order_by(
        "-issued_on", "-id"
    )
    can_write = not request.user.is_read_only
    return {
        "channel": channel,
        "contract": channel.contract,
        "cover": cover,
        "chart": chart,
        "chart_labels": {"balance": _("Prepaid balance"), "projection": _("Projected at the burn rate")},
        "packs": pack_rows(channel, now=now),
        "draws": UpstreamDraw.objects.filter(pack__channel=channel)
        .select_related("pack")
        .order_by("-day", "pack_id")[:60],
        "bills": bills[:50],
        "true_ups": [] if cover.prepaid else late_usage_true_ups(channel)[:50],
        "payments": VendorPayment.objects.filter(bill__channel=channel).select_related("bill")[:50],
        "can_write": can_write,
        "purchase_form": forms.get("purchase_form") or PurchaseForm(),
        "bill_form": forms.get("bill_form") or BillForm(),
        "payment_form": forms.get("payment_form") or PaymentForm(bills=_open_bills(channel)),
        "burn_form": forms.get("burn_form") or BurnForm(initial={"day": today}),
        "open_bills": _open_bills(channel),
    }


@staff_required(roles=LEDGER_ROLES)
def ledger_channel(request, pk: int):
    channel = get_object_or_404(ledger_channels(), pk=pk)
    return render(request, "upstream/ledger/channel.html", channel_context(request, channel))


def _renamed(error: ValidationError, names: dict[str, str]) -> ValidationError:
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError({names.get(field, field): errors for field, errors in error.error_dict.items()})


@require_POST
@staff_required(roles=LEDGER_ROLES, auditor_reads=False)
def ledger_buy(request, pk: int):
    channel = get_object_or_404(ledger_channels(), pk=pk)
    form = PurchaseForm(request.POST)
    if form.is_valid():
        try:
            pack, outcome = upstream_pack_buy(
                channel=channel, created_by=request.user, **form.service_arguments()
            )
        except ValidationError as exc:
            form_errors_add(form, _renamed(exc, PURCHASE_FIELDS))
        else:
            if outcome == "created":
                messages.success(
                    request, _("Purchase %(reference)s is recorded.") % {"reference": pack.reference}
                )
            else:
                messages.info(
                    request, _("Purchase %(reference)s was already recorded.") % {"reference": pack.reference}
                )
            return redirect("upstream-ledger-channel", pk=channel.pk)
    context = channel_context(request, channel, purchase_form=form)
    return render(request, "upstream/ledger/channel.html", context, status=400)


@require_POST
@staff_required(roles=LEDGER_ROLES, auditor_reads=False)
def ledger_burn(request, pk: int):
    channel = get_object_or_404(ledger_channels(), pk=pk)
    form = BurnForm(request.POST)
    if form.is_valid() and form.cleaned_data["day"] >= timezone.localdate():
        form.add_error("day", _("Burn a day once it has ended: today's usage is still arriving."))
    if form.is_valid():
        day = form.cleaned_data["day"]
        draws = burn_day(channel=channel, day=day)
        drawn = sum(1 for d in draws if d.credit or d.tokens)
        messages.success(
            request, _("%(day)s is burnt: %(count)s packs drawn.") % {"day": day.isoformat(), "count": drawn}
        )
        return redirect("upstream-ledger-channel", pk=channel.pk)
    context = channel_context(request, channel, burn_form=form)
    return render(request, "upstream/ledger/channel.html", context, status=400)
