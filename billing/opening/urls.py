"""Routes of the opening-balance import pages."""

from django.urls import path

from billing.opening import views

urlpatterns = [
    path("opening-balances/", views.import_list, name="opening-import"),
    path("opening-balances/template/<slug:kind>.csv", views.import_template, name="opening-import-template"),
    path("opening-balances/<int:pk>/", views.import_detail, name="opening-import-detail"),
    path("opening-balances/<int:pk>/apply/", views.import_apply, name="opening-import-apply"),
]
