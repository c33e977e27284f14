"""Finance's receivables pages: payments (list, record, detail with allocation), credit notes, receipts."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import ALL_STAFF_ROLES, staff_required
from accounts.selectors import customers_visible_to
from billing.documents.language import lang_checked, requested_language
from billing.receivables.filters import CreditNoteFilter, PaymentFilter, ReceiptFilter
from billing.receivables.forms import PaymentForm
from billing.receivables.models import CustomerPayment
from billing.receivables.selectors import (
    credit_notes_visible_to,
    invoices_visible_to,
    payments_visible_to,
    receipts_visible_to,
)
from billing.receivables.services import MONEY_ROLES, payment_allocate, payment_record, payment_unallocated
from common.forms import form_errors_add
from common.listing import filtered_page
from common.responses import pdf_response


@staff_required(roles=ALL_STAFF_ROLES)
def payment_list(request):
    context = filtered_page(request, payments_visible_to(request.user), PaymentFilter)
    context["may_act"] = request.user.staff_role in MONEY_ROLES
    return render(request, "receivables/payment_list.html", context)


@staff_required(roles=MONEY_ROLES, auditor_reads=False)
def payment_create(request):
    visible = invoices_visible_to(request.user)
    initial = {}
    if invoice_id := request.GET.get("invoice", ""):
        invoice = visible.filter(pk=invoice_id).first() if invoice_id.isdigit() else None
        if invoice is not None:
            initial = {
                "customer": invoice.customer,
                "invoice": invoice,
                "allocate": "invoice",
                "amount": invoice.amount_due,
                "currency": invoice.currency,
            }
    form = PaymentForm(
        request.POST or None, initial=initial, customers=customers_visible_to(request.user), invoices=visible
    )
    replayed = CustomerPayment.objects.filter(
        idempotency_key=request.POST.get("idempotency_key") or None, recorded_by=request.user
    ).first()
    if request.method == "POST" and replayed is not None:
        # A double submit: the first one recorded it (and may have paid the invoice the form offered).
        messages.info(request, _("This payment was already recorded."))
        return redirect("staff-payment-detail", pk=replayed.pk)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        allocate = {"oldest": "oldest", "none": None, "invoice": data.get("invoice")}[data["allocate"]]
        try:
            payment = payment_record(
                customer=data["customer"],
                amount=data["amount"],
                currency=data["currency"],
                received_on=data["received_on"],
                reference=data["reference"],
                actor=request.user,
                idempotency_key=data["idempotency_key"],
                allocate=allocate,
                note=data["note"],
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Payment recorded."))
            return redirect("staff-payment-detail", pk=payment.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "receivables/payment_form.html", {"form": form}, status=status)


@staff_required(roles=ALL_STAFF_ROLES)
def payment_detail(request, pk: int):
    payment = get_object_or_404(payments_visible_to(request.user), pk=pk)
    context = {
        "payment": payment,
        "allocations": payment.allocations.select_related("invoice").order_by("allocated_at"),
        "unallocated": payment_unallocated(payment),
        "receipt": getattr(payment, "receipt", None),
        "may_act": request.user.staff_role in MONEY_ROLES,
    }
    return render(request, "receivables/payment_detail.html", context)


@require_POST
@staff_required(roles=MONEY_ROLES)
def payment_allocate_view(request, pk: int):
    payment = get_object_or_404(payments_visible_to(request.user), pk=pk)
    try:
        made = payment_allocate(payment=payment, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if made:
            messages.success(request, _("Allocated to %(count)s invoice(s).") % {"count": len(made)})
        else:
            messages.info(request, _("Nothing to allocate: no open invoices or no credit left."))
    return redirect("staff-payment-detail", pk=pk)


@staff_required(roles=ALL_STAFF_ROLES)
def credit_note_list(request):
    context = filtered_page(request, credit_notes_visible_to(request.user), CreditNoteFilter)
    return render(request, "receivables/credit_note_list.html", context)


@staff_required(roles=ALL_STAFF_ROLES)
@lang_checked
def credit_note_pdf_view(request, pk: int):
    from billing.documents.pdf import credit_note_pdf

    note = get_object_or_404(credit_notes_visible_to(request.user), pk=pk)
    data = credit_note_pdf(note, language=requested_language(request, note.language))
    return pdf_response(data, f"{note.number}.pdf")


@staff_required(roles=ALL_STAFF_ROLES)
def receipt_list(request):
    context = filtered_page(request, receipts_visible_to(request.user), ReceiptFilter)
    return render(request, "receivables/receipt_list.html", context)


@staff_required(roles=ALL_STAFF_ROLES)
@lang_checked
def receipt_pdf_view(request, pk: int):
    from billing.documents.pdf import receipt_pdf

    receipt = get_object_or_404(receipts_visible_to(request.user), pk=pk)
    data = receipt_pdf(receipt, language=requested_language(request, receipt.language))
    return pdf_response(data, f"{receipt.number}.pdf")
