"""Gross margin by vendor, channel, model, customer, sub-distributor and period (issue #18 item 8)."""

from django.urls import path

from billing.upstream.margin import views

urlpatterns: list = [
    path("upstream/margin/", views.margin_page, name="staff-upstream-margin"),
]
