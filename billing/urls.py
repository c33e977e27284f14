from django.urls import include, path

from billing.payments.views.card_purchase import portal_buy_by_card

urlpatterns: list = [
    path("", include("billing.ledger.urls")),
    path("", include("billing.wallets.urls")),
    path("", include("billing.payments.urls")),
    path("", include("billing.payments.portal_bank_urls")),
    path("", include("billing.usage.urls")),
    path("", include("billing.gateway.urls")),
    path("", include("billing.dunning.urls")),
    path("", include("billing.statements.urls")),
    path("", include("billing.receivables.urls")),
    path("", include("billing.invoicing.urls")),
    path("", include("billing.journals.urls")),
    path("", include("billing.allowances.urls")),
    path("", include("billing.chain.report_urls")),
    path("", include("billing.chain.commission_urls")),
    path("", include("billing.chain.setup_urls")),
    path("", include("billing.upstream.urls")),
    path("", include("billing.exposure.urls")),
    path("", include("billing.opening.urls")),
    path("", include("billing.documents.price_list_urls")),
    path("", include("billing.usage.request_log_urls")),
    path("portal/packs/buy-by-card/", portal_buy_by_card, name="portal-allowances-buy-card"),
]
