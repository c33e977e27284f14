"""Routes of the AR aging report: the staff page and its exports, the API, a reseller's own book."""

from django.urls import path

from billing.exposure import aging_views
from billing.exposure.aging_api import AgingReportView

urlpatterns: list = [
    path("reports/aging/", aging_views.aging_page, name="exposure-aging"),
    path("reports/aging/csv/", aging_views.aging_csv, name="exposure-aging-csv"),
    path("reports/aging/pdf/", aging_views.aging_pdf_view, name="exposure-aging-pdf"),
    path("api/v1/reports/aging", AgingReportView.as_view(), name="api-reports-aging"),
    path("portal/seller/aging/", aging_views.portal_aging, name="portal-seller-aging"),
    path("portal/seller/aging/csv/", aging_views.portal_aging_csv, name="portal-seller-aging-csv"),
    path("portal/seller/aging/pdf/", aging_views.portal_aging_pdf, name="portal-seller-aging-pdf"),
]
