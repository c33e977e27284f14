from django.urls import path

from billing.receivables import views

urlpatterns = [
    path("dashboard/finance/payments/", views.payment_list, name="staff-payment-list"),
    path("dashboard/finance/payments/new/", views.payment_create, name="staff-payment-create"),
    path("dashboard/finance/payments/<int:pk>/", views.payment_detail, name="staff-payment-detail"),
    path(
        "dashboard/finance/payments/<int:pk>/allocate/",
        views.payment_allocate_view,
        name="staff-payment-allocate",
    ),
    path("dashboard/finance/credit-notes/", views.credit_note_list, name="staff-credit-note-list"),
    path(
        "dashboard/finance/credit-notes/<int:pk>/pdf/",
        views.credit_note_pdf_view,
        name="staff-credit-note-pdf",
    ),
    path("dashboard/finance/receipts/", views.receipt_list, name="staff-receipt-list"),
    path("dashboard/finance/receipts/<int:pk>/pdf/", views.receipt_pdf_view, name="staff-receipt-pdf"),
]
