"""Routes of the reconciliation pages and the upstream settings page."""

from django.urls import path

from billing.upstream import settings_views
from billing.upstream.reconcile import views

urlpatterns: list = [
    path("upstream/reconciliation/", views.recon_runs, name="upstream-recon-runs"),
    path("upstream/reconciliation/run/", views.recon_run_now, name="upstream-recon-run-now"),
    path("upstream/reconciliation/<int:pk>/", views.recon_run, name="upstream-recon-run"),
    path("upstream/reconciliation/<int:pk>/lines.csv", views.recon_run_csv, name="upstream-recon-run-csv"),
    path("upstream/reconciliation/lines/<int:pk>/", views.recon_line, name="upstream-recon-line"),
    path("upstream/settings/", settings_views.upstream_settings, name="upstream-settings"),
]
