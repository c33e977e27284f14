from django.urls import path

from billing.usage.request_log_views import (
    portal_request_log,
    portal_request_log_csv,
    staff_request_log,
    staff_request_log_csv,
)

urlpatterns = [
    path("portal/usage/requests/", portal_request_log, name="portal-request-log"),
    path("portal/usage/requests/export.csv", portal_request_log_csv, name="portal-request-log-csv"),
    path("dashboard/usage/requests/", staff_request_log, name="staff-request-log"),
    path("dashboard/usage/requests/export.csv", staff_request_log_csv, name="staff-request-log-csv"),
]
