"""An invoice's lines as a CSV download, for finance and for the customer in the portal.

The rows are ``billing.documents.invoice_csv``'s, written in the invoice's language (the price adjustment
row says why in words). Visibility as on the invoice pages: staff every invoice, a portal user its
organisation's subtree and never a draft.
"""

from django.shortcuts import get_object_or_404
from django.utils import translation

from accounts.permissions import ALL_STAFF_ROLES, customer_user_required, staff_required
from accounts.selectors import customers_visible_to
from billing.documents.invoice_csv import invoice_lines_csv_rows
from billing.documents.pdf import language_for
from billing.invoicing.models import Invoice
from common.csv_export import csv_response


def _download(invoice: Invoice):
    with translation.override(language_for(invoice.language)):
        body = "".join(invoice_lines_csv_rows(invoice))
    return csv_response(body, f"{invoice.number or f'draft-{invoice.pk}'}-lines.csv")


@staff_required(roles=ALL_STAFF_ROLES)
def invoice_lines_csv(request, pk: int):
    invoice = get_object_or_404(
        Invoice.objects.filter(customer__in=customers_visible_to(request.user)), pk=pk
    )
    return _download(invoice)


@customer_user_required
def portal_invoice_lines_csv(request, pk: int):
    visible = Invoice.objects.filter(customer__in=customers_visible_to(request.user)).exclude(
        status=Invoice.Status.DRAFT
    )
    return _download(get_object_or_404(visible, pk=pk))
