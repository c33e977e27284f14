from django.urls import path

from billing.invoicing.pages import portal, staff

urlpatterns = [
    path("dashboard/finance/invoices/", staff.invoice_list, name="staff-invoice-list"),
    path("dashboard/finance/invoices/bulk/", staff.invoice_bulk, name="staff-invoice-bulk"),
    path("dashboard/finance/invoices/<int:pk>/", staff.invoice_detail, name="staff-invoice-detail"),
    path("dashboard/finance/invoices/<int:pk>/pdf/", staff.invoice_pdf_view, name="staff-invoice-pdf"),
    path(
        "dashboard/finance/invoices/<int:pk>/credit-note/",
        staff.credit_note_create,
        name="staff-invoice-credit-note",
    ),
    path(
        "dashboard/finance/invoices/<int:pk>/<slug:action>/",
        staff.invoice_action,
        name="staff-invoice-action",
    ),
    path("portal/invoices/", portal.portal_invoice_list, name="portal-invoice-list"),
    path("portal/invoices/<int:pk>/", portal.portal_invoice_detail, name="portal-invoice-detail"),
    path("portal/invoices/<int:pk>/pdf/", portal.portal_invoice_pdf, name="portal-invoice-pdf"),
    path("portal/invoices/<int:pk>/pay/", portal.portal_invoice_pay, name="portal-invoice-pay"),
    path("portal/credit-notes/<int:pk>/pdf/", portal.portal_credit_note_pdf, name="portal-credit-note-pdf"),
    path("portal/receipts/", portal.portal_receipt_list, name="portal-receipt-list"),
    path("portal/receipts/<int:pk>/pdf/", portal.portal_receipt_pdf, name="portal-receipt-pdf"),
]
