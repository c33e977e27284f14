"""The upstream pages: each part of the upstream side keeps its own routes."""

from django.urls import include, path

urlpatterns: list = [
    path("", include("billing.upstream.channels.urls")),
    path("", include("billing.upstream.ledger_urls")),
    path("", include("billing.upstream.imports.urls")),
    path("", include("billing.upstream.reconcile.urls")),
    path("", include("billing.upstream.mismatch.urls")),
    path("", include("billing.upstream.margin.urls")),
]
