from django.urls import path

from billing.invoicing import downloads, upcoming_views, views

urlpatterns = [
    path("dashboard/service-charges/", views.service_charge_list, name="staff-service-charges"),
    path(
        "dashboard/service-charges/<int:pk>/end/",
        views.service_charge_stop,
        name="staff-service-charge-end",
    ),
    path("dashboard/period-closes/", views.period_close_list, name="staff-period-closes"),
    path(
        "dashboard/finance/invoices/<int:pk>/lines.csv",
        downloads.invoice_lines_csv,
        name="staff-invoice-lines-csv",
    ),
    path(
        "portal/invoices/<int:pk>/lines.csv",
        downloads.portal_invoice_lines_csv,
        name="portal-invoice-lines-csv",
    ),
    path("dashboard/finance/upcoming/", upcoming_views.upcoming_list, name="staff-upcoming-invoices"),
    path(
        "dashboard/finance/upcoming/<int:pk>/", upcoming_views.upcoming_detail, name="staff-upcoming-invoice"
    ),
    path("portal/invoices/upcoming/", upcoming_views.portal_upcoming, name="portal-upcoming-invoice"),
]
