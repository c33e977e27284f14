"""The project's URLs plus the price-list PDFs, for tests until the project includes them."""

from django.urls import include, path

from distributor.urls import urlpatterns as project

urlpatterns = [path("", include("billing.documents.price_list_urls")), *project]
