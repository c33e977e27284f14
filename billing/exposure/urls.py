"""The working-capital and credit-risk pages and reports: each part keeps its own routes."""

from django.urls import include, path

urlpatterns: list = [
    path("", include("billing.exposure.aging_urls")),
    path("", include("billing.exposure.ecl_urls")),
    path("", include("billing.exposure.forecast_urls")),
    path("", include("billing.exposure.risk_urls")),
]
