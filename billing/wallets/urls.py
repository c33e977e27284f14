from django.urls import path

from billing.wallets import views

urlpatterns = [
    path("portal/wallet/", views.portal_wallet, name="portal-wallet"),
    path("portal/customers/<int:pk>/wallet/", views.portal_customer_wallet, name="portal-customer-wallet"),
    path("dashboard/finance/wallets/", views.staff_wallet_list, name="staff-wallet-list"),
    path(
        "dashboard/finance/wallets/overshoots/", views.staff_floor_overshoots, name="staff-floor-overshoots"
    ),
    path("dashboard/customers/<int:pk>/wallet/", views.staff_customer_wallet, name="staff-customer-wallet"),
    path(
        "dashboard/customers/<int:pk>/wallet/adjust/",
        views.staff_wallet_adjust,
        name="staff-customer-wallet-adjust",
    ),
    path(
        "dashboard/customers/<int:pk>/wallet/settings/",
        views.staff_wallet_settings,
        name="staff-customer-wallet-settings",
    ),
]
