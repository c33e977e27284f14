"""An invoice's lines as a CSV download, for finance and for the customer in the portal.

The rows are ``billing.documents.invoice_csv``'s, written in the invoice's language or ``?lang=``'s (the
price adjustment row says why in words). Visibility as on the invoice pages: staff every invoice, a portal
user its organisation's subtree and never a draft.
"""

from django.shortcuts import get_object_or_404
from django.utils import translation

from accounts.permissions import ALL_STAFF_ROLES, customer_user_required, staff_required
from accounts.selectors import customers_visible_to
from billing.documents.invoice_csv import invoice_lines_csv_rows
from billing.documents.language import lang_checked, requested_language
from billing.invoicing.models import Invoice
from common.csv_export import csv_response


def _download(request, invoice: Invoice):
    with translation.override(requested_language(request, invoice.language)):
        body = "".join(invoice_lines_csv_rows(invoice))
    return csv_response(body, f"{invoice.number or f'draft-{invoice.pk}'}-lines.csv")


@staff_required(roles=ALL_STAFF_ROLES)
@lang_checked
def invoice_lines_csv(request, pk: int):
    invoice = get_object_or_404(
        Invoice.objects.filter(customer__in=customers_visible_to(request.user)), pk=pk
    )
    return _download(request, invoice)


@customer_user_required
@lang_checked
def portal_invoice_lines_csv(request, pk: int):
    visible = Invoice.objects.filter(customer__in=customers_visible_to(request.user)).exclude(
        status=Invoice.Status.DRAFT
    )
    return _download(request, get_object_or_404(visible, pk=pk))
