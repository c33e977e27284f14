"""The customer portal's invoices, credit notes and receipts: lists, detail, PDF downloads, pay by card.

A portal user sees the invoices of every customer ``customers_visible_to`` gives it: its own
organisation and, for a sub-distributor, its subtree (as for usage and customers). Only the user's own
organisation's invoices can be paid here, and only by owners and billing contacts: a sub-distributor
collects from its own customers itself.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.identity import seller_identity
from accounts.models import MemberRole
from accounts.permissions import customer_user_required
from accounts.selectors import home_customer
from billing.documents.language import lang_checked, requested_language
from billing.documents.line_prices import with_class_prices
from billing.invoicing.models import Invoice
from billing.receivables.cards import invoice_card_payment_start
from billing.receivables.filters import PortalInvoiceFilter, ReceiptFilter
from billing.receivables.selectors import (
    credit_notes_visible_to,
    invoice_totals,
    invoices_visible_to,
    receipts_visible_to,
    with_amount_due,
)
from billing.stripe import api as stripe_api
from common.listing import filtered_page
from common.responses import pdf_response

logger = logging.getLogger(__name__)

PAYING_ROLES = (MemberRole.OWNER, MemberRole.BILLING)
_STRIPE_LOCALES = {"zh-hans": "zh", "en": "en"}


def _portal_invoices(user):
    # Drafts are finance's working copies: a customer never sees them.
    return invoices_visible_to(user).exclude(status=Invoice.Status.DRAFT)


def _may_pay(user, invoice: Invoice) -> bool:
    return (
        settings.STRIPE_ENABLED
        and user.membership.role in PAYING_ROLES
        and invoice.customer_id == home_customer(user).pk
        and invoice.amount_due > 0
    )


@customer_user_required
def portal_invoice_list(request):
    invoices = with_amount_due(_portal_invoices(request.user))
    context = filtered_page(request, invoices, PortalInvoiceFilter)
    context["totals"] = invoice_totals(context["filter"].qs if context["filter"].is_bound else invoices)
    context["home"] = home_customer(request.user)
    context["today"] = timezone.localdate()
    return render(request, "invoicing/portal_invoice_list.html", context)


@customer_user_required
def portal_invoice_detail(request, pk: int):
    invoice = get_object_or_404(_portal_invoices(request.user), pk=pk)
    context = {
        "invoice": invoice,
        "lines": with_class_prices(invoice.lines.select_related("ai_model").order_by("position", "id")),
        "allocations": invoice.allocations.select_related("payment", "payment__receipt").order_by(
            "allocated_at"
        ),
        "credit_notes": invoice.credit_notes.order_by("issue_date", "id"),
        # Who the invoice is from and where to pay: the customer's seller, not always the operator.
        "seller": seller_identity(invoice.customer),
        "may_pay": _may_pay(request.user, invoice),
        "just_paid": request.GET.get("paid") == "1",
        "today": timezone.localdate(),
    }
    return render(request, "invoicing/portal_invoice_detail.html", context)


@customer_user_required
@lang_checked
def portal_invoice_pdf(request, pk: int):
    from billing.documents.pdf import invoice_pdf

    invoice = get_object_or_404(_portal_invoices(request.user), pk=pk)
    data = invoice_pdf(invoice, language=requested_language(request, invoice.language))
    return pdf_response(data, f"{invoice.number}.pdf")


@customer_user_required
@lang_checked
def portal_credit_note_pdf(request, pk: int):
    from billing.documents.pdf import credit_note_pdf

    note = get_object_or_404(credit_notes_visible_to(request.user), pk=pk)
    data = credit_note_pdf(note, language=requested_language(request, note.language))
    return pdf_response(data, f"{note.number}.pdf")


@customer_user_required
def portal_receipt_list(request):
    context = filtered_page(request, receipts_visible_to(request.user), ReceiptFilter)
    context["home"] = home_customer(request.user)
    return render(request, "receivables/portal_receipt_list.html", context)


@customer_user_required
@lang_checked
def portal_receipt_pdf(request, pk: int):
    from billing.documents.pdf import receipt_pdf

    receipt = get_object_or_404(receipts_visible_to(request.user), pk=pk)
    data = receipt_pdf(receipt, language=requested_language(request, receipt.language))
    return pdf_response(data, f"{receipt.number}.pdf")


@require_POST
@customer_user_required
def portal_invoice_pay(request, pk: int):
    invoice = get_object_or_404(_portal_invoices(request.user), pk=pk)
    if not _may_pay(request.user, invoice):
        raise PermissionDenied
    detail = request.build_absolute_uri(reverse("portal-invoice-detail", args=[invoice.pk]))
    try:
        payment = invoice_card_payment_start(
            user=request.user,
            invoice=invoice,
            success_url=f"{detail}?paid=1",
            cancel_url=detail,
            locale=_STRIPE_LOCALES.get(get_language() or "", "auto"),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except stripe_api.StripeError:
        logger.exception("Stripe refused a Checkout Session for invoice %s", invoice.pk)
        messages.error(request, _("The card payment service did not answer. Nothing was charged; try again."))
    else:
        return redirect(payment.checkout_url)
    return redirect("portal-invoice-detail", pk=invoice.pk)
