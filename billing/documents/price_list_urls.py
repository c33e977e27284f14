"""Price-list PDFs (``billing.documents.price_list``): include from the project's URLs."""

from django.urls import path

from billing.documents import price_list

urlpatterns = [
    path(
        "dashboard/catalog/plans/<int:pk>/prices.pdf",
        price_list.staff_plan_price_list_pdf,
        name="catalog-plan-prices-pdf",
    ),
    path("portal/prices.pdf", price_list.portal_price_list_pdf, name="portal-prices-pdf"),
]
