"""Vendor invoice pages: the list of every channel's invoices (open, overdue, paid) with CSV, and the
channel page's forms to record an invoice, pay one, void one.

Roles as the ledger pages: admin and finance write, auditors read, sales and support are refused.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import staff_required
from billing.upstream.bills import vendor_bill_record, vendor_bill_void
from billing.upstream.ledger_filters import BillFilter
from billing.upstream.ledger_forms import BillForm, PaymentForm
from billing.upstream.ledger_selectors import bills_with_status
from billing.upstream.ledger_views import LEDGER_ROLES, channel_context, ledger_channels
from billing.upstream.models import VendorBill
from billing.upstream.vendor_payments import vendor_payment_record
from common.csv_export import csv_lines, csv_response
from common.forms import form_errors_add
from common.listing import filtered_page

CSV_HEADER = [
    "number", "channel", "vendor", "kind", "month", "currency", "amount", "paid", "left", "issued_on",
    "due_on", "status", "source",
]  # fmt: skip


def _bills(today):
    queryset = VendorBill.objects.select_related("channel__contract__vendor").order_by("due_on", "number")
    return bills_with_status(queryset, today=today)


@staff_required(roles=LEDGER_ROLES)
def bill_list(request):
    today = timezone.localdate()
    context = filtered_page(request, _bills(today), BillFilter)
    if request.GET.get("format") == "csv":
        filterset = context["filter"]
        rows = filterset.qs if filterset.is_bound and filterset.is_valid() else _bills(today)
        return csv_response(csv_lines(_csv_rows(rows)), f"vendor-invoices-{today:%Y%m%d}.csv")
    context["today"] = today
    return render(request, "upstream/ledger/bills.html", context)


def _csv_rows(bills):
    yield CSV_HEADER
    for b in bills.iterator(chunk_size=2000):
        yield [
            b.number, b.channel.name, b.channel.contract.vendor.name, b.kind, f"{b.month:%Y-%m}", b.currency,
            b.amount, b.paid_amount, b.left, b.issued_on, b.due_on, b.status, b.source,
        ]  # fmt: skip


@require_POST
@staff_required(roles=LEDGER_ROLES, auditor_reads=False)
def bill_new(request, pk: int):
    channel = get_object_or_404(ledger_channels(), pk=pk)
    form = BillForm(request.POST)
    if form.is_valid():
        try:
            bill, outcome = vendor_bill_record(
                channel=channel,
                currency=channel.contract.currency,
                source=_("entered by %(user)s") % {"user": request.user.email},
                created_by=request.user,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            text = (
                _("Invoice %(number)s is recorded.")
                if outcome == "created"
                else _("Invoice %(number)s was already recorded.")
            )
            messages.success(request, text % {"number": bill.number})
            return redirect("upstream-ledger-channel", pk=channel.pk)
    context = channel_context(request, channel, bill_form=form)
    return render(request, "upstream/ledger/channel.html", context, status=400)


@require_POST
@staff_required(roles=LEDGER_ROLES, auditor_reads=False)
def bill_pay(request, pk: int):
    channel = get_object_or_404(ledger_channels(), pk=pk)
    context = channel_context(request, channel)
    form = PaymentForm(request.POST, bills=context["open_bills"])
    if form.is_valid():
        data = form.cleaned_data
        try:
            payment, outcome = vendor_payment_record(
                bill=data["bill"],
                amount=data["amount"],
                paid_on=data["paid_on"],
                reference=data["reference"],
                bank_currency=data["bank_currency"] or None,
                bank_amount=data["bank_amount"],
                created_by=request.user,
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            text = (
                _("Payment %(reference)s is recorded.")
                if outcome == "created"
                else _("Payment %(reference)s was already recorded.")
            )
            messages.success(request, text % {"reference": payment.reference})
            return redirect("upstream-ledger-channel", pk=channel.pk)
    context["payment_form"] = form
    return render(request, "upstream/ledger/channel.html", context, status=400)


@require_POST
@staff_required(roles=LEDGER_ROLES, auditor_reads=False)
def bill_void(request, pk: int):
    bill = get_object_or_404(VendorBill.objects.select_related("channel"), pk=pk)
    try:
        vendor_bill_void(bill=bill, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Invoice %(number)s is void.") % {"number": bill.number})
    return redirect("upstream-ledger-channel", pk=bill.channel_id)
