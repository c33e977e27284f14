"""The seller console's money pages: a resale sub-distributor records its customers' bank transfers and
issues redemption codes for its own book, through the same services the operator's staff pages call (they
post in the customer's seller's book, which is the seller's). Viewers read, owners and billing members act.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Customer
from accounts.permissions import SELLER_MANAGERS, seller_member_required
from billing.customers.seller_forms import SellerTransferForm
from billing.customers.seller_selectors import (
    seller_batches,
    seller_closes,
    seller_customers,
    seller_invoices,
    seller_transfers,
)
from billing.customers.seller_views import can_manage
from billing.invoicing.close.services import CloseError, period_close_book
from billing.invoicing.forms import PeriodCloseForm
from billing.payments.bank_transfers import bank_transfer_approve, bank_transfer_record, bank_transfer_reject
from billing.payments.filters import BankTransferFilter, RedemptionBatchFilter
from billing.payments.forms import RedemptionBatchForm, RejectForm
from billing.payments.redemption import redemption_batch_create, redemption_batch_export
from billing.terms.selectors import customer_currency
from common.csv_export import csv_response
from common.forms import form_errors_add
from common.listing import filtered_page

RESALE = (Customer.ChainMode.RESALE,)
reseller_required = seller_member_required(modes=RESALE)
manager_required = seller_member_required(roles=SELLER_MANAGERS, modes=RESALE)


@reseller_required
def seller_transfer_list(request):
    context = filtered_page(request, seller_transfers(request.seller), BankTransferFilter)
    context.update(can_manage=can_manage(request), reject_form=RejectForm())
    return render(request, "portal/seller/transfers.html", context)


@manager_required
def seller_transfer_new(request):
    initial = {}
    wanted = request.GET.get("customer", "")
    chosen = seller_customers(request.seller).filter(pk=wanted).first() if wanted.isdigit() else None
    if chosen is not None:
        initial = {"customer": chosen.pk, "currency": customer_currency(chosen)}
    form = SellerTransferForm(
        request.POST or None, request.FILES or None, user=request.user, seller=request.seller, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            transfer = bank_transfer_record(recorder=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or _("You may not record bank transfers."))
        else:
            messages.success(
                request,
                _("Transfer %(reference)s of %(customer)s recorded (%(status)s).")
                % {
                    "reference": transfer.reference,
                    "customer": transfer.customer.name,
                    "status": transfer.get_status_display().lower(),
                },
            )
            return redirect("portal-seller-transfers")
    return render(request, "portal/seller/transfer_new.html", {"form": form})


@reseller_required
def seller_transfer_attachment(request, pk: int):
    """The bank slip of one of the seller's transfers, served here so only its members read it."""
    transfer = get_object_or_404(seller_transfers(request.seller), pk=pk)
    if not transfer.attachment:
        raise Http404
    return FileResponse(
        transfer.attachment.open("rb"), as_attachment=False, filename=transfer.attachment.name
    )


@require_POST
@manager_required
def seller_transfer_decide(request, pk: int):
    """Approve or reject a pending transfer of one of the seller's customers (someone other than its
    recorder, as the service requires)."""
    transfer = get_object_or_404(seller_transfers(request.seller), pk=pk)
    try:
        if request.POST.get("decision") == "approve":
            bank_transfer_approve(transfer=transfer, approver=request.user)
            messages.success(
                request, _("Transfer %(reference)s approved.") % {"reference": transfer.reference}
            )
        else:
            form = RejectForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Say why the transfer is rejected."))
            bank_transfer_reject(transfer=transfer, approver=request.user, reason=form.cleaned_data["reason"])
            messages.success(
                request, _("Transfer %(reference)s rejected.") % {"reference": transfer.reference}
            )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("portal-seller-transfers")


@reseller_required
def seller_codes(request):
    """The seller's redemption batches, and (owners, billing) a form to generate one for its customers."""
    manages = can_manage(request)
    form = RedemptionBatchForm(request.POST or None) if manages else None
    if request.method == "POST":
        if not manages:
            raise PermissionDenied
        if form.is_valid():
            try:
                batch = redemption_batch_create(user=request.user, book=request.seller, **form.cleaned_data)
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(
                    request,
                    _("%(count)s codes generated: export them to hand out to your customers.")
                    % {"count": batch.count},
                )
                return redirect("portal-seller-codes")
    context = filtered_page(request, seller_batches(request.seller), RedemptionBatchFilter)
    context.update(form=form, can_manage=manages)
    return render(request, "portal/seller/codes.html", context)


# Unredeemed codes are spendable credit: only owners and billing members export them.
@manager_required
def seller_code_export(request, pk: int):
    batch = get_object_or_404(seller_batches(request.seller), pk=pk)
    body = redemption_batch_export(batch=batch, user=request.user)
    return csv_response(body, f"codes-{batch.pk}-{timezone.localtime():%Y%m%d}.csv")


@reseller_required
def seller_close(request):
    """The seller's period closes: those it ran for its book and the operator's runs of every book; owners
    and billing members close a period for their book here (its credit customers invoiced in its name, its
    prepaid ones given usage statements)."""
    seller = request.seller
    manages = can_manage(request)
    form = PeriodCloseForm(request.POST or None) if manages else None
    if request.method == "POST":
        if not manages:
            raise PermissionDenied
        if form.is_valid():
            try:
                result = period_close_book(
                    book=seller, period=form.cleaned_data["period"], actor=request.user
                )
            except (CloseError, PermissionDenied) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("%(period)s closed for your book: %(invoices)s invoices, %(statements)s statements.")
                    % {
                        "period": result.period_close.period,
                        "invoices": len(result.invoices),
                        "statements": len(result.statements),
                    },
                )
                return redirect("portal-seller-close")
    context = {
        "form": form,
        "closes": seller_closes(seller),
        "invoices": seller_invoices(seller).order_by("-issue_date", "-id")[:20],
    }
    return render(request, "portal/seller/close.html", context)
