"""Finance's invoice pages: the list (filters, totals, bulk issue and send) and one invoice."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import ALL_STAFF_ROLES, staff_required
from billing.documents.language import lang_checked, requested_language
from billing.documents.line_prices import with_class_prices
from billing.invoicing.services import InvoiceError, invoice_issue, invoices_issue
from billing.receivables.credit_notes import credit_note_issue, invoice_void, lines_remaining
from billing.receivables.filters import InvoiceFilter
from billing.receivables.forms import BulkForm, CreditNoteForm, ReasonForm
from billing.receivables.queue import invoices_send_queue
from billing.receivables.selectors import invoice_totals, invoices_visible_to, with_amount_due
from billing.receivables.services import MONEY_ROLES, customer_credit, customer_credit_apply
from common.forms import form_errors_add
from common.listing import filtered_page
from common.redirects import redirect_next
from common.responses import pdf_response


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@staff_required(roles=ALL_STAFF_ROLES)
def invoice_list(request):
    invoices = with_amount_due(invoices_visible_to(request.user))
    context = filtered_page(request, invoices, InvoiceFilter)
    context["totals"] = invoice_totals(context["filter"].qs if context["filter"].is_bound else invoices)
    context["may_act"] = request.user.staff_role in MONEY_ROLES
    context["today"] = timezone.localdate()
    return render(request, "invoicing/invoice_list.html", context)


@require_POST
@staff_required(roles=MONEY_ROLES)
def invoice_bulk(request):
    visible = invoices_visible_to(request.user)
    form = BulkForm(request.POST, invoices=visible)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect_next(request, "staff-invoice-list")
    chosen = list(visible.filter(pk__in=form.cleaned_data["ids"]).order_by("pk"))
    if form.cleaned_data["action"] == "issue":
        issued, refused = invoices_issue(invoices=chosen, actor=request.user)
        messages.success(request, _("%(count)s draft(s) issued.") % {"count": issued})
        for reason in refused:
            messages.error(request, reason)
    else:
        count = invoices_send_queue(invoices=chosen)
        skipped = len(chosen) - count
        messages.success(request, _("%(count)s invoice(s) are being sent.") % {"count": count})
        if skipped:
            messages.warning(
                request, _("%(count)s draft or void invoice(s) were not sent.") % {"count": skipped}
            )
    return redirect_next(request, "staff-invoice-list")


def _detail_context(request, invoice) -> dict:
    return {
        "invoice": invoice,
        "lines": with_class_prices(invoice.lines.select_related("ai_model").order_by("position", "id")),
        "allocations": invoice.allocations.select_related("payment").order_by("allocated_at"),
        "credit_notes": invoice.credit_notes.order_by("issue_date", "id"),
        "notices": invoice.dunning_notices.select_related("level").order_by("sent_at"),
        "credit": customer_credit(customer=invoice.customer, currency=invoice.currency),
        "may_act": request.user.staff_role in MONEY_ROLES,
        "void_form": ReasonForm(),
        "today": timezone.localdate(),
    }


@staff_required(roles=ALL_STAFF_ROLES)
def invoice_detail(request, pk: int):
    invoice = get_object_or_404(invoices_visible_to(request.user), pk=pk)
    return render(request, "invoicing/invoice_detail.html", _detail_context(request, invoice))


@staff_required(roles=ALL_STAFF_ROLES)
@lang_checked
def invoice_pdf_view(request, pk: int):
    from billing.documents.pdf import invoice_pdf

    invoice = get_object_or_404(invoices_visible_to(request.user), pk=pk)
    data = invoice_pdf(invoice, language=requested_language(request, invoice.language))
    return pdf_response(data, f"{invoice.number or f'draft-{invoice.pk}'}.pdf")


@require_POST
@staff_required(roles=MONEY_ROLES)
def invoice_action(request, pk: int, action: str):
    invoice = get_object_or_404(invoices_visible_to(request.user), pk=pk)
    try:
        if action == "issue":
            invoice = invoice_issue(invoice=invoice, actor=request.user)
            messages.success(request, _("Invoice %(number)s issued.") % {"number": invoice.number})
        elif action == "send":
            if invoices_send_queue(invoices=[invoice]):
                messages.success(request, _("The invoice is being sent to the billing contacts."))
            else:
                messages.error(request, _("Only issued invoices are sent."))
        elif action == "void":
            form = ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Say why the invoice is voided."))
            else:
                invoice_void(invoice=invoice, reason=form.cleaned_data["reason"], actor=request.user)
                messages.success(request, _("Invoice voided."))
        elif action == "allocate":
            made = customer_credit_apply(invoice=invoice, actor=request.user)
            total = sum(a.amount for a in made)
            messages.success(
                request,
                _("%(amount)s %(currency)s of the customer's credit allocated.")
                % {"amount": total, "currency": invoice.currency},
            )
        else:
            raise PermissionDenied
    except InvoiceError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    return redirect("staff-invoice-detail", pk=pk)


@staff_required(roles=MONEY_ROLES, auditor_reads=False)
def credit_note_create(request, pk: int):
    invoice = get_object_or_404(invoices_visible_to(request.user), pk=pk)
    remaining = lines_remaining(invoice)
    form = CreditNoteForm(request.POST or None, invoice=invoice, remaining=remaining)
    if request.method == "POST" and form.is_valid():
        try:
            note = credit_note_issue(
                invoice=invoice,
                reason=form.cleaned_data["reason"],
                lines=form.cleaned_data["lines"],
                actor=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Credit note %(number)s issued.") % {"number": note.number})
            return redirect("staff-invoice-detail", pk=pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "invoicing/credit_note_form.html", {"invoice": invoice, "form": form}, status=status
    )
