"""Routes of this part of the working-capital pages (billing.exposure.urls includes them)."""

from django.urls import path

from billing.exposure.forecast_views import forecast_page

urlpatterns: list = [
    path("reports/forecast/", forecast_page, name="exposure-forecast"),
]
