from django.urls import path

from billing.documents import views as document_views
from billing.statements import views

urlpatterns = [
    path("dashboard/finance/statements/", views.staff_statement, name="staff-statement"),
    path(
        "dashboard/finance/statements/exports/",
        views.statement_export_list,
        name="staff-statement-export-list",
    ),
    path(
        "dashboard/finance/statements/exports/start/",
        views.statement_export_start,
        name="staff-statement-export-start",
    ),
    path(
        "dashboard/finance/statements/exports/<int:pk>/progress/",
        views.statement_export_progress,
        name="staff-statement-export-progress",
    ),
    path(
        "dashboard/finance/statements/exports/<int:pk>/download/",
        views.statement_export_download,
        name="staff-statement-export-download",
    ),
    path("dashboard/finance/exports/", views.accountant_exports, name="staff-accountant-exports"),
    path(
        "dashboard/finance/exports/<slug:kind>.csv", views.accountant_export, name="staff-accountant-export"
    ),
    path(
        "dashboard/finance/usage-statements/",
        views.staff_usage_statement_list,
        name="staff-usage-statement-list",
    ),
    path(
        "dashboard/finance/usage-statements/<int:pk>/pdf/",
        views.staff_usage_statement_pdf,
        name="staff-usage-statement-pdf",
    ),
    path("portal/statement/", views.portal_statement, name="portal-statement"),
    # The seller profile (billing.documents): the identity a resale sub-distributor's documents carry.
    path("portal/seller/profile/", document_views.portal_seller_profile, name="portal-seller-profile"),
    path(
        "dashboard/customers/<int:pk>/seller-profile/",
        document_views.staff_seller_profile,
        name="staff-seller-profile",
    ),
    path(
        "portal/usage-statements/",
        views.portal_usage_statement_list,
        name="portal-usage-statement-list",
    ),
    path(
        "portal/usage-statements/<int:pk>/pdf/",
        views.portal_usage_statement_pdf,
        name="portal-usage-statement-pdf",
    ),
]
