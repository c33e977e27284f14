from django.urls import include, path

urlpatterns: list = [
    path("", include("billing.ledger.urls")),
    path("", include("billing.wallets.urls")),
    path("", include("billing.payments.urls")),
    path("", include("billing.usage.urls")),
    path("", include("billing.gateway.urls")),
    path("", include("billing.dunning.urls")),
    path("", include("billing.statements.urls")),
    path("", include("billing.receivables.urls")),
    path("", include("billing.invoicing.urls")),
]
