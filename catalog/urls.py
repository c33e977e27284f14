from django.urls import path

from catalog import api
from catalog.views import calculator, catalog_pages, operations, portal, seller_plans

urlpatterns = [
    path("api/v1/quotes", api.QuoteView.as_view(), name="api-quote"),
    # staff dashboard
    path("dashboard/catalog/models/", catalog_pages.model_list, name="catalog-model-list"),
    path("dashboard/catalog/models/<int:pk>/", catalog_pages.model_detail, name="catalog-model-detail"),
    path("dashboard/catalog/books/", catalog_pages.book_list, name="catalog-book-list"),
    path("dashboard/catalog/books/<int:pk>/", catalog_pages.book_detail, name="catalog-book-detail"),
    path("dashboard/catalog/plans/", catalog_pages.plan_list, name="catalog-plan-list"),
    path("dashboard/catalog/plans/<int:pk>/", catalog_pages.plan_detail, name="catalog-plan-detail"),
    path("dashboard/catalog/allowances/", catalog_pages.allowance_list, name="catalog-allowances"),
    path("dashboard/catalog/prices/", operations.customer_prices, name="catalog-customer-prices"),
    path("dashboard/catalog/calculator/", calculator.staff_calculator, name="catalog-calculator"),
    path("dashboard/catalog/imports/", operations.import_list, name="catalog-import-list"),
    path("dashboard/catalog/imports/new/", operations.import_new, name="catalog-import-new"),
    path("dashboard/catalog/imports/<int:pk>/", operations.import_detail, name="catalog-import-detail"),
    path("dashboard/catalog/imports/<int:pk>/apply/", operations.import_apply, name="catalog-import-apply"),
    path("dashboard/catalog/alerts/", operations.alert_list, name="catalog-alerts"),
    path("dashboard/catalog/alerts/check/", operations.alert_check, name="catalog-alert-check"),
    path("dashboard/catalog/fx/", operations.fx_list, name="catalog-fx"),
    # customer portal
    path("portal/prices/", portal.portal_prices, name="portal-prices"),
    path("portal/calculator/", calculator.portal_calculator, name="portal-calculator"),
    # a sub-distributor's retail plans
    path("portal/plans/", seller_plans.seller_plan_list, name="portal-plan-list"),
    path("portal/plans/new/", seller_plans.seller_plan_create, name="portal-plan-create"),
    path("portal/plans/<int:pk>/", seller_plans.seller_plan_detail, name="portal-plan-detail"),
    path("portal/plans/<int:pk>/edit/", seller_plans.seller_plan_edit, name="portal-plan-edit"),
    path("portal/plans/<int:pk>/rules/", seller_plans.seller_plan_rule_add, name="portal-plan-rule-add"),
    path("portal/plans/<int:pk>/prices/", seller_plans.seller_plan_price_set, name="portal-plan-price-set"),
    path("portal/plans/<int:pk>/assign/", seller_plans.seller_plan_assign, name="portal-plan-assign"),
]
