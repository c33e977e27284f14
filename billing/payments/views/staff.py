"""Finance's top-up pages: card top-ups, bank transfers, redemption batches (Stripe events: stripe_events)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.payments.bank_transfers import (
    bank_transfer_approve,
    bank_transfer_record,
    bank_transfer_reject,
    reference_clash,
)
from billing.payments.filters import BankTransferFilter, CardTopUpFilter, RedemptionBatchFilter
from billing.payments.forms import BankTransferForm, RedemptionBatchForm, RejectForm
from billing.payments.redemption import redemption_batch_create, redemption_batch_export
from billing.payments.selectors import (
    bank_transfers_visible_to,
    card_topups_visible_to,
    redemption_batches_visible_to,
    stripe_event_queue_counts,
)
from common.csv_export import csv_response
from common.forms import form_errors_add
from common.listing import filtered_page

FINANCE = (StaffRole.FINANCE, StaffRole.ADMIN)


# --- card top-ups ------------------------------------------------------------------------------------


@staff_required(roles=FINANCE)
def card_topup_list(request):
    context = filtered_page(request, card_topups_visible_to(request.user), CardTopUpFilter)
    context["stripe_event_counts"] = stripe_event_queue_counts(request.user)
    return render(request, "dashboard/payments/card_list.html", context)


# --- bank transfers ----------------------------------------------------------------------------------


@staff_required(roles=FINANCE)
def bank_transfer_list(request):
    context = filtered_page(request, bank_transfers_visible_to(request.user), BankTransferFilter)
    return render(request, "dashboard/payments/bank_list.html", context)


@staff_required(roles=FINANCE, auditor_reads=False)
def bank_transfer_create(request):
    form = BankTransferForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            transfer = bank_transfer_record(recorder=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            if transfer.status == transfer.Status.APPROVED:
                messages.success(request, _("Transfer recorded and credited."))
            else:
                messages.success(request, _("Transfer recorded. Another finance user must approve it."))
            return redirect("staff-bank-transfer-detail", pk=transfer.pk)
    return render(request, "dashboard/payments/bank_form.html", {"form": form})


@staff_required(roles=FINANCE)
def bank_transfer_detail(request, pk: int):
    transfer = get_object_or_404(bank_transfers_visible_to(request.user), pk=pk)
    context = {
        "transfer": transfer,
        # The transfer holding this notice's bank line, which keeps it from being approved.
        "clash": reference_clash(transfer) if transfer.reference_clash else None,
        "reject_form": RejectForm(),
        "may_decide": transfer.status == transfer.Status.PENDING
        and transfer.recorded_by_id != request.user.pk
        and not request.user.is_read_only,
        "may_reverse": transfer.status == transfer.Status.APPROVED and not request.user.is_read_only,
    }
    return render(request, "dashboard/payments/bank_detail.html", context)


@require_POST
@staff_required(roles=FINANCE)
def bank_transfer_decide(request, pk: int):
    transfer = get_object_or_404(bank_transfers_visible_to(request.user), pk=pk)
    try:
        if request.POST.get("decision") == "approve":
            bank_transfer_approve(transfer=transfer, approver=request.user)
            messages.success(request, _("Transfer approved and credited to the customer's wallet."))
        else:
            form = RejectForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Say why the transfer is rejected."))
                return redirect("staff-bank-transfer-detail", pk=pk)
            bank_transfer_reject(transfer=transfer, approver=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("Transfer rejected; nothing was credited."))
    except PermissionDenied as exc:
        # The page never offers the buttons to the recorder; reaching here is a forged or stale request.
        return HttpResponseForbidden(str(exc) or _("You may not decide this transfer."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("staff-bank-transfer-detail", pk=pk)


@staff_required(roles=FINANCE)
def bank_transfer_attachment(request, pk: int):
    # Served through this view, not MEDIA_URL, so only staff who may see the transfer can read the slip.
    transfer = get_object_or_404(bank_transfers_visible_to(request.user), pk=pk)
    if not transfer.attachment:
        raise Http404
    return FileResponse(
        transfer.attachment.open("rb"), as_attachment=False, filename=transfer.attachment.name
    )


# --- redemption codes --------------------------------------------------------------------------------


@staff_required(roles=FINANCE)
def redemption_batch_list(request):
    context = filtered_page(request, redemption_batches_visible_to(request.user), RedemptionBatchFilter)
    return render(request, "dashboard/payments/batch_list.html", context)


@staff_required(roles=FINANCE, auditor_reads=False)
def redemption_batch_new(request):
    form = RedemptionBatchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = redemption_batch_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("%(count)s codes generated.") % {"count": batch.count})
            return redirect("staff-redemption-batch-detail", pk=batch.pk)
    return render(request, "dashboard/payments/batch_form.html", {"form": form})


@staff_required(roles=FINANCE)
def redemption_batch_detail(request, pk: int):
    batch = get_object_or_404(redemption_batches_visible_to(request.user), pk=pk)
    codes = Paginator(batch.codes.select_related("customer").order_by("id"), 50).get_page(
        request.GET.get("page")
    )
    # Auditors check the batch without learning codes that could still be redeemed.
    context = {"batch": batch, "page_obj": codes, "show_codes": not request.user.is_read_only}
    return render(request, "dashboard/payments/batch_detail.html", context)


# Unredeemed codes are spendable credit: auditors see the batch, but only finance and admin export it.
@staff_required(roles=FINANCE, auditor_reads=False)
def redemption_batch_csv(request, pk: int):
    batch = get_object_or_404(redemption_batches_visible_to(request.user), pk=pk)
    body = redemption_batch_export(batch=batch, user=request.user)
    return csv_response(body, f"codes-{batch.pk}-{timezone.localtime():%Y%m%d}.csv")
