from django.urls import include, path

urlpatterns: list = [
    path("", include("billing.payments.urls")),
]
