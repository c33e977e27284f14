"""Staff pages for write-offs: the queue, proposing one, a write-off with its decision, and recovering
written-off amounts from the customer's credit.

Finance and admins propose; an admin other than the proposer approves or rejects (a proposal of an
exhausted dunning policy: an admin or finance). Auditors read; sales, support and portal users get nothing.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from accounts.permissions import staff_required
from accounts.selectors import customers_visible_to
from billing.receivables.models import WriteOff
from billing.receivables.selectors import invoices_visible_to, write_offs_visible_to
from billing.receivables.services import customer_credit
from billing.receivables.writeoff_forms import (
    ApproveForm,
    CustomerPickForm,
    RejectForm,
    WriteOffFilter,
    WriteOffProposeForm,
)
from billing.receivables.writeoffs import (
    APPROVER_ROLES,
    PROPOSER_ROLES,
    may_decide,
    writeoff_approve,
    writeoff_candidates,
    writeoff_credit_recover,
    writeoff_propose,
    writeoff_reject,
    writeoff_split,
)
from common.forms import form_errors_add
from common.listing import filtered_page


@staff_required(roles=PROPOSER_ROLES)
def writeoff_list(request):
    context = filtered_page(request, write_offs_visible_to(request.user), WriteOffFilter)
    context["pending"] = write_offs_visible_to(request.user).filter(status=WriteOff.Status.PROPOSED).count()
    return render(request, "receivables/writeoff_list.html", context)


def _target(request):
    """The customer, currency and chosen invoice the page was opened for (``?customer=``/``?invoice=``)."""
    raw_invoice, raw_customer = request.GET.get("invoice", ""), request.GET.get("customer", "")
    if raw_invoice.isdigit():
        invoice = invoices_visible_to(request.user).filter(pk=int(raw_invoice)).first()
        if invoice is not None:
            return invoice.customer, invoice.currency, invoice.pk
    if raw_customer.isdigit():
        customer = customers_visible_to(request.user).filter(pk=int(raw_customer)).first()
        if customer is not None:
            return customer, (request.GET.get("currency") or "").upper()[:3] or None, None
    return None, None, None


@staff_required(roles=PROPOSER_ROLES, auditor_reads=False)
def writeoff_propose_view(request):
    customer, currency, chosen = _target(request)
    if customer is None:
        pick = CustomerPickForm(request.GET if "customer" in request.GET else None)
        if pick.is_bound and pick.is_valid():
            return redirect(f"{request.path}?customer={pick.cleaned_data['customer'].pk}")
        return render(request, "receivables/writeoff_form.html", {"pick": pick})
    open_invoices = list(writeoff_candidates(customer=customer))
    currencies = sorted({inv.currency for inv in open_invoices})
    if currency is None and len(currencies) == 1:
        currency = currencies[0]
    invoices = [inv for inv in open_invoices if inv.currency == currency]
    posted = request.method == "POST"
    form = WriteOffProposeForm(request.POST if posted else None, invoices=invoices, chosen=chosen)
    if posted and currency and form.is_valid():
        data = form.cleaned_data
        try:
            write_off = writeoff_propose(
                customer=customer,
                invoices_amounts=None if data["whole"] else form.invoices_amounts(),
                whole=data["whole"],
                currency=currency,
                reason=data["reason"],
                actor=request.user,
                idempotency_key=data["idempotency_key"],
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Write-off proposed. An admin other than you must approve it."))
            return redirect("writeoff-detail", pk=write_off.pk)
    context = {
        "customer": customer,
        "currency": currency,
        "currencies": currencies,
        "form": form,
        "credit": customer_credit(customer=customer, currency=currency) if currency else None,
    }
    return render(request, "receivables/writeoff_form.html", context, status=400 if posted else 200)


@staff_required(roles=PROPOSER_ROLES)
def writeoff_detail(request, pk: int):
    write_off = get_object_or_404(
        write_offs_visible_to(request.user).select_related("journal_transaction"), pk=pk
    )
    lines = list(write_off.lines.select_related("invoice").prefetch_related("recoveries"))
    context = {
        "write_off": write_off,
        "lines": lines,
        "split": writeoff_split(write_off),
        "approve_form": ApproveForm(),
        "reject_form": RejectForm(),
        "may_decide": write_off.status == WriteOff.Status.PROPOSED and may_decide(request.user, write_off),
        "may_recover": write_off.status == WriteOff.Status.APPROVED
        and request.user.staff_role in PROPOSER_ROLES
        and customer_credit(customer=write_off.customer, currency=write_off.currency) > 0,
    }
    return render(request, "receivables/writeoff_detail.html", context)


@require_POST
@staff_required(roles=APPROVER_ROLES, auditor_reads=False)
def writeoff_decide(request, pk: int):
    write_off = get_object_or_404(write_offs_visible_to(request.user), pk=pk)
    try:
        if request.POST.get("decision") == "approve":
            form = ApproveForm(request.POST)
            if not form.is_valid():
                messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
                return redirect("writeoff-detail", pk=pk)
            writeoff_approve(
                write_off=write_off, approver=request.user, effective_date=form.cleaned_data["effective_date"]
            )
            messages.success(request, _("Write-off approved and posted."))
        else:
            form = RejectForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Say why the write-off is rejected."))
                return redirect("writeoff-detail", pk=pk)
            writeoff_reject(write_off=write_off, approver=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("Write-off rejected; nothing was posted."))
    except PermissionDenied as exc:
        # The page offers no buttons to whom may not decide; reaching here is a forged or stale request.
        return HttpResponseForbidden(str(exc) or _("You may not decide this write-off."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("writeoff-detail", pk=pk)


@require_POST
@staff_required(roles=(StaffRole.FINANCE, StaffRole.ADMIN), auditor_reads=False)
def writeoff_recover(request, pk: int, invoice_pk: int):
    """Apply the customer's unallocated payments to a written-off invoice: a recovery."""
    write_off = get_object_or_404(write_offs_visible_to(request.user), pk=pk)
    line = get_object_or_404(write_off.lines.select_related("invoice"), invoice_id=invoice_pk)
    try:
        made = writeoff_credit_recover(invoice=line.invoice, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if made:
            messages.success(
                request,
                _("The customer's credit was applied to %(number)s; what it recovered is posted.")
                % {"number": line.invoice.number},
            )
        else:
            messages.info(request, _("Nothing to apply: no credit left or nothing written off."))
    return redirect("writeoff-detail", pk=pk)
