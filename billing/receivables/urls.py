from django.urls import include, path

from billing.receivables.views import invoices, portal, staff

urlpatterns = [
    path("dashboard/finance/invoices/", invoices.invoice_list, name="staff-invoice-list"),
    path("dashboard/finance/invoices/bulk/", invoices.invoice_bulk, name="staff-invoice-bulk"),
    path("dashboard/finance/invoices/<int:pk>/", invoices.invoice_detail, name="staff-invoice-detail"),
    path("dashboard/finance/invoices/<int:pk>/pdf/", invoices.invoice_pdf_view, name="staff-invoice-pdf"),
    path(
        "dashboard/finance/invoices/<int:pk>/credit-note/",
        invoices.credit_note_create,
        name="staff-invoice-credit-note",
    ),
    path(
        "dashboard/finance/invoices/<int:pk>/<slug:action>/",
        invoices.invoice_action,
        name="staff-invoice-action",
    ),
    path("portal/invoices/", portal.portal_invoice_list, name="portal-invoice-list"),
    path("portal/invoices/<int:pk>/", portal.portal_invoice_detail, name="portal-invoice-detail"),
    path("portal/invoices/<int:pk>/pdf/", portal.portal_invoice_pdf, name="portal-invoice-pdf"),
    path("portal/invoices/<int:pk>/pay/", portal.portal_invoice_pay, name="portal-invoice-pay"),
    path("portal/credit-notes/<int:pk>/pdf/", portal.portal_credit_note_pdf, name="portal-credit-note-pdf"),
    path("portal/receipts/", portal.portal_receipt_list, name="portal-receipt-list"),
    path("portal/receipts/<int:pk>/pdf/", portal.portal_receipt_pdf, name="portal-receipt-pdf"),
    path("dashboard/finance/payments/", staff.payment_list, name="staff-payment-list"),
    path("dashboard/finance/payments/new/", staff.payment_create, name="staff-payment-create"),
    path("dashboard/finance/payments/<int:pk>/", staff.payment_detail, name="staff-payment-detail"),
    path(
        "dashboard/finance/payments/<int:pk>/allocate/",
        staff.payment_allocate_view,
        name="staff-payment-allocate",
    ),
    path("dashboard/finance/credit-notes/", staff.credit_note_list, name="staff-credit-note-list"),
    path(
        "dashboard/finance/credit-notes/<int:pk>/pdf/",
        staff.credit_note_pdf_view,
        name="staff-credit-note-pdf",
    ),
    path("dashboard/finance/receipts/", staff.receipt_list, name="staff-receipt-list"),
    path("dashboard/finance/receipts/<int:pk>/pdf/", staff.receipt_pdf_view, name="staff-receipt-pdf"),
    path("", include("billing.receivables.writeoff_urls")),
]
