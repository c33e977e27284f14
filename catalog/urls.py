from django.urls import path

from catalog import api
from catalog.views import (
    calculator,
    catalog_pages,
    entry_pages,
    operations,
    portal,
    price_imports,
    provider_mappings,
    seller_plans,
)

urlpatterns = [
    path("api/v1/quotes", api.QuoteView.as_view(), name="api-quote"),
    # staff dashboard
    path("dashboard/catalog/models/", catalog_pages.model_list, name="catalog-model-list"),
    path("dashboard/catalog/models/<int:pk>/", catalog_pages.model_detail, name="catalog-model-detail"),
    path("dashboard/catalog/books/", catalog_pages.book_list, name="catalog-book-list"),
    path("dashboard/catalog/books/<int:pk>/", catalog_pages.book_detail, name="catalog-book-detail"),
    path("dashboard/catalog/entries/<int:pk>/", entry_pages.entry_detail, name="catalog-entry-detail"),
    path(
        "dashboard/catalog/entries/<int:pk>/windows/",
        entry_pages.entry_window_set,
        name="catalog-entry-window",
    ),
    path(
        "dashboard/catalog/entries/<int:pk>/service-tiers/",
        entry_pages.entry_service_tier_set,
        name="catalog-entry-service-tier",
    ),
    path(
        "dashboard/catalog/entries/<int:pk>/units/", entry_pages.entry_units_set, name="catalog-entry-units"
    ),
    path(
        "dashboard/catalog/entries/<int:pk>/remove/",
        entry_pages.entry_part_remove,
        name="catalog-entry-remove",
    ),
    path("dashboard/catalog/plans/", catalog_pages.plan_list, name="catalog-plan-list"),
    path("dashboard/catalog/plans/<int:pk>/", catalog_pages.plan_detail, name="catalog-plan-detail"),
    path("dashboard/catalog/allowances/", catalog_pages.allowance_list, name="catalog-allowances"),
    path("dashboard/catalog/prices/", operations.customer_prices, name="catalog-customer-prices"),
    path("dashboard/catalog/calculator/", calculator.staff_calculator, name="catalog-calculator"),
    path("dashboard/catalog/imports/", price_imports.import_list, name="catalog-import-list"),
    path("dashboard/catalog/imports/new/", price_imports.import_new, name="catalog-import-new"),
    path("dashboard/catalog/imports/<int:pk>/", price_imports.import_detail, name="catalog-import-detail"),
    path(
        "dashboard/catalog/imports/<int:pk>/apply/", price_imports.import_apply, name="catalog-import-apply"
    ),
    path(
        "dashboard/catalog/imports/<int:pk>/skipped/<int:group>/",
        price_imports.import_skipped,
        name="catalog-import-skipped",
    ),
    path("dashboard/catalog/providers/", provider_mappings.mapping_list, name="catalog-provider-mappings"),
    path(
        "dashboard/catalog/providers/new/", provider_mappings.mapping_new, name="catalog-provider-mapping-new"
    ),
    path(
        "dashboard/catalog/providers/<int:pk>/",
        provider_mappings.mapping_edit,
        name="catalog-provider-mapping-edit",
    ),
    path(
        "dashboard/catalog/providers/<int:pk>/delete/",
        provider_mappings.mapping_delete,
        name="catalog-provider-mapping-delete",
    ),
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
