"""Routes of the expected-credit-loss page and API (billing.exposure.urls includes them)."""

from django.urls import path

from billing.exposure import ecl_api, ecl_views

urlpatterns: list = [
    path("reports/ecl/", ecl_views.ecl_page, name="exposure-ecl"),
    path("reports/ecl/matrix/", ecl_views.ecl_matrix_save, name="exposure-ecl-matrix"),
    path("reports/ecl/post/", ecl_views.ecl_post_button, name="exposure-ecl-post"),
    path("api/v1/reports/ecl", ecl_api.EclReportView.as_view(), name="api-reports-ecl"),
]
