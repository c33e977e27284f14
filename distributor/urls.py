from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from distributor import views
from distributor.api_docs import api_docs

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", api_docs, name="api-docs"),
    path("", include("accounts.urls")),
    path("", include("billing.customers.urls")),
    path("", include("catalog.urls")),
    path("", include("billing.urls")),
    path("", include("distributor.search_urls")),
]
