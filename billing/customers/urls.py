from django.urls import path

from billing.customers import seller_money_views, seller_views, views

urlpatterns = [
    path("dashboard/customers/", views.staff_customer_list, name="staff-customer-list"),
    path("dashboard/customers/new/", views.staff_customer_create, name="staff-customer-create"),
    path("dashboard/customers/<int:pk>/", views.staff_customer_detail, name="staff-customer-detail"),
    path("dashboard/customers/<int:pk>/terms/", views.staff_terms, name="staff-customer-terms"),
    path(
        "dashboard/customers/<int:pk>/keys/new/", views.staff_customer_key_add, name="staff-customer-key-add"
    ),
    path(
        "dashboard/customers/<int:pk>/plans/assign/",
        views.staff_customer_plan_assign,
        name="staff-customer-plan-assign",
    ),
    path("portal/", views.portal_home, name="portal-home"),
    path("portal/customers/", views.portal_customer_list, name="portal-customer-list"),
    path("portal/customers/<int:pk>/", views.portal_customer_detail, name="portal-customer-detail"),
    # The seller console (a resale or agency sub-distributor's business).
    path("portal/seller/", seller_views.seller_home, name="portal-seller-home"),
    path("portal/seller/customers/new/", seller_views.seller_customer_new, name="portal-seller-customer-new"),
    path(
        "portal/seller/customers/<int:pk>/",
        seller_views.seller_customer_detail,
        name="portal-seller-customer",
    ),
    path("portal/seller/customers/<int:pk>/terms/", seller_views.seller_terms, name="portal-seller-terms"),
    path(
        "portal/seller/customers/<int:pk>/wallet-floor/",
        seller_views.seller_wallet_floor,
        name="portal-seller-wallet-floor",
    ),
    path(
        "portal/seller/customers/<int:pk>/retail-floor/",
        seller_views.seller_retail_floor,
        name="portal-seller-retail-floor",
    ),
    path("portal/seller/customers/<int:pk>/hold/", seller_views.seller_hold, name="portal-seller-hold"),
    path(
        "portal/seller/holds/<int:pk>/lift/", seller_views.seller_hold_release, name="portal-seller-hold-lift"
    ),
    path("portal/seller/dunning/", seller_views.seller_dunning, name="portal-seller-dunning"),
    path("portal/seller/transfers/", seller_money_views.seller_transfer_list, name="portal-seller-transfers"),
    path(
        "portal/seller/transfers/new/",
        seller_money_views.seller_transfer_new,
        name="portal-seller-transfer-new",
    ),
    path(
        "portal/seller/transfers/<int:pk>/attachment/",
        seller_money_views.seller_transfer_attachment,
        name="portal-seller-transfer-attachment",
    ),
    path(
        "portal/seller/transfers/<int:pk>/decide/",
        seller_money_views.seller_transfer_decide,
        name="portal-seller-transfer-decide",
    ),
    path("portal/seller/close/", seller_money_views.seller_close, name="portal-seller-close"),
    path("portal/seller/codes/", seller_money_views.seller_codes, name="portal-seller-codes"),
    path(
        "portal/seller/codes/<int:pk>/export/",
        seller_money_views.seller_code_export,
        name="portal-seller-code-export",
    ),
]
