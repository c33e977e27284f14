from django.urls import path

from billing.allowances import views

urlpatterns = [
    path(
        "dashboard/customers/<int:pk>/allowances/", views.staff_allowances, name="staff-customer-allowances"
    ),
    path(
        "dashboard/customers/<int:pk>/allowances/sell-pack/",
        views.staff_pack_sell,
        name="staff-customer-pack-sell",
    ),
    path(
        "dashboard/customers/<int:pk>/allowances/subscribe/",
        views.staff_subscription_start,
        name="staff-customer-subscription-start",
    ),
    path(
        "dashboard/customers/<int:pk>/allowances/subscriptions/<int:subscription_pk>/cancel/",
        views.staff_subscription_cancel,
        name="staff-customer-subscription-cancel",
    ),
    path("portal/packs/", views.portal_allowances, name="portal-allowances"),
    path("portal/packs/buy/", views.portal_buy_from_wallet, name="portal-allowances-buy"),
]
