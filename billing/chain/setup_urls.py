from django.urls import path

from billing.chain import setup_views

urlpatterns = [
    path("dashboard/customers/<int:pk>/chain/", setup_views.chain_settings, name="staff-chain-settings"),
]
