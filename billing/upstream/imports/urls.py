"""Routes of the vendor usage and invoice imports."""

from django.urls import path

from billing.upstream.imports import views

urlpatterns = [
    path("upstream/imports/", views.import_list, name="upstream-import-list"),
    path("upstream/imports/new/", views.import_new, name="upstream-import-new"),
    path("upstream/imports/<int:pk>/", views.import_detail, name="upstream-import-detail"),
    path("upstream/imports/<int:pk>/apply/", views.import_apply, name="upstream-import-apply"),
]
