from django.urls import path

from catalog import api

urlpatterns = [
    path("api/v1/quotes", api.QuoteView.as_view(), name="api-quote"),
]
