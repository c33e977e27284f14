"""Routes of the 货不对版 (model mismatch) pages."""

from django.urls import path

from billing.upstream.mismatch import views

urlpatterns: list = [
    path("upstream/mismatch/", views.mismatch_list, name="upstream-mismatch-list"),
    path("upstream/mismatch/scan/", views.mismatch_scan_run, name="upstream-mismatch-scan"),
    path("upstream/mismatch/pack/", views.mismatch_channel_pack, name="upstream-mismatch-pack"),
    path("upstream/mismatch/<int:pk>/", views.mismatch_detail, name="upstream-mismatch-detail"),
    path("upstream/mismatch/<int:pk>/state/", views.mismatch_state, name="upstream-mismatch-state"),
    path("upstream/mismatch/<int:pk>/events/", views.mismatch_events, name="upstream-mismatch-events"),
    path("upstream/mismatch/<int:pk>/pack/", views.mismatch_flag_pack, name="upstream-mismatch-flag-pack"),
]
