"""Routes of the customer risk page (billing.exposure.urls includes them)."""

from django.urls import path

from billing.exposure import risk_views

urlpatterns: list = [
    path("reports/risk/", risk_views.risk_list, name="exposure-risk"),
    path("reports/risk/csv/", risk_views.risk_csv, name="exposure-risk-csv"),
    path("reports/risk/flags/<int:pk>/clear/", risk_views.risk_flag_clear_view, name="exposure-risk-clear"),
]
