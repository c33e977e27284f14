from django.urls import path

from billing.documents import views

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
        "dashboard/finance/exports/<slug:kind>.csv", views.accountant_exports, name="staff-accountant-export"
    ),
    path("portal/statement/", views.portal_statement, name="portal-statement"),
]
