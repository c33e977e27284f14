"""Finance's corrections: the list (pending approvals and done), a proposal's page with its decision, and
the forms that propose a bank payment reversal (from a payment) or a credit refund (from a customer)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import staff_required
from accounts.selectors import customer_for_user
from billing.payments.approvals import correction_approve, correction_reject
from billing.payments.correction_filters import CorrectionFilter
from billing.payments.correction_forms import CorrectionRejectForm, CreditRefundForm, PaymentReversalForm
from billing.payments.corrections import MONEY_ROLES
from billing.payments.models import Correction
from billing.payments.refunds import credit_refund_propose, open_invoices_due, wallet_refundable
from billing.payments.reversals import payment_reversal_propose
from billing.payments.selectors import bank_transfers_visible_to, corrections_visible_to
from billing.receivables.selectors import payments_visible_to
from billing.receivables.services import customer_credit
from billing.terms.selectors import customer_currency
from common.forms import form_errors_add
from common.listing import filtered_page


@staff_required(roles=MONEY_ROLES)
def correction_list(request):
    visible = corrections_visible_to(request.user)
    context = filtered_page(request, visible, CorrectionFilter)
    context["pending"] = visible.filter(status=Correction.Status.PENDING).count()
    return render(request, "dashboard/payments/correction_list.html", context)


@staff_required(roles=MONEY_ROLES)
def correction_detail(request, pk: int):
    correction = get_object_or_404(corrections_visible_to(request.user), pk=pk)
    context = {
        "correction": correction,
        "reject_form": CorrectionRejectForm(),
        "may_decide": correction.status == Correction.Status.PENDING
        and correction.proposed_by_id != request.user.pk
        and not request.user.is_read_only,
    }
    return render(request, "dashboard/payments/correction_detail.html", context)


@require_POST
@staff_required(roles=MONEY_ROLES)
def correction_decide(request, pk: int):
    correction = get_object_or_404(corrections_visible_to(request.user), pk=pk)
    try:
        if request.POST.get("decision") == "approve":
            correction_approve(correction=correction, approver=request.user)
            messages.success(request, _("Correction approved and booked."))
        else:
            form = CorrectionRejectForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Say why the correction is rejected."))
                return redirect("staff-correction-detail", pk=pk)
            correction_reject(
                correction=correction, approver=request.user, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("Correction rejected; nothing was booked."))
    except PermissionDenied as exc:
        # The page never offers the buttons to the proposer; reaching here is a forged or stale request.
        return HttpResponseForbidden(str(exc) or _("You may not decide this correction."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("staff-correction-detail", pk=pk)


def _replayed(request, key: str):
    """The proposal a double submit already made, if any (the form's hidden key)."""
    return Correction.objects.filter(idempotency_key=key or None, proposed_by=request.user).first()


def _reversal_form(request, *, target: dict, cancel_url: str, context: dict):
    form = PaymentReversalForm(request.POST or None)
    if request.method == "POST" and (replayed := _replayed(request, request.POST.get("idempotency_key"))):
        return redirect("staff-correction-detail", pk=replayed.pk)
    if request.method == "POST" and form.is_valid():
        try:
            correction = payment_reversal_propose(proposer=request.user, **target, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(
                request, _("Reversal proposed. Another finance user or an admin must approve it.")
            )
            return redirect("staff-correction-detail", pk=correction.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "cancel_url": cancel_url, **context}
    return render(request, "dashboard/payments/reversal_form.html", context, status=status)


@staff_required(roles=MONEY_ROLES, auditor_reads=False)
def payment_reversal_create(request, pk: int):
    payment = get_object_or_404(payments_visible_to(request.user), pk=pk)
    return _reversal_form(
        request,
        target={"payment": payment},
        cancel_url=reverse("staff-payment-detail", args=[pk]),
        context={
            "customer": payment.customer,
            "reference": payment.reference or payment.pk,
            "amount": payment.amount,
            "currency": payment.currency,
            "received_on": payment.received_on,
        },
    )


@staff_required(roles=MONEY_ROLES, auditor_reads=False)
def transfer_reversal_create(request, pk: int):
    transfer = get_object_or_404(bank_transfers_visible_to(request.user), pk=pk)
    return _reversal_form(
        request,
        target={"bank_transfer": transfer},
        cancel_url=reverse("staff-bank-transfer-detail", args=[pk]),
        context={
            "customer": transfer.customer,
            "reference": transfer.reference,
            "amount": transfer.amount,
            "currency": transfer.currency,
            "received_on": transfer.value_date,
        },
    )


@staff_required(roles=MONEY_ROLES, auditor_reads=False)
def credit_refund_create(request, pk: int):
    customer = customer_for_user(request.user, pk)
    if customer is None:
        raise Http404
    initial = {}
    if (payment_id := request.GET.get("payment", "")).isdigit():
        initial = {"payment": payment_id, "source": Correction.Source.RECEIVABLE}
    form = CreditRefundForm(request.POST or None, initial=initial, customer=customer)
    if request.method == "POST" and (replayed := _replayed(request, request.POST.get("idempotency_key"))):
        return redirect("staff-correction-detail", pk=replayed.pk)
    if request.method == "POST" and form.is_valid():
        try:
            correction = credit_refund_propose(proposer=request.user, customer=customer, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Refund proposed. Another finance user or an admin must approve it."))
            return redirect("staff-correction-detail", pk=correction.pk)
    currency = customer_currency(customer)
    context = {
        "form": form,
        "customer": customer,
        "currency": currency,
        "receivable_credit": customer_credit(customer=customer, currency=currency),
        "wallet_credit": wallet_refundable(customer=customer, currency=currency),
        # Unapplied credit is refundable only beyond this (the customer's net credit).
        "open_due": open_invoices_due(customer=customer, currency=currency),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "dashboard/payments/refund_form.html", context, status=status)
