"""Routes of the upstream ledger: channels' balances and cover, one channel's ledger, vendor invoices."""

from django.urls import path

from billing.upstream import bill_views, ledger_views

urlpatterns: list = [
    path("upstream/ledger/", ledger_views.ledger_list, name="upstream-ledger"),
    path("upstream/ledger/<int:pk>/", ledger_views.ledger_channel, name="upstream-ledger-channel"),
    path("upstream/ledger/<int:pk>/purchases/", ledger_views.ledger_buy, name="upstream-ledger-buy"),
    path("upstream/ledger/<int:pk>/burn/", ledger_views.ledger_burn, name="upstream-ledger-burn"),
    path("upstream/ledger/<int:pk>/invoices/", bill_views.bill_new, name="upstream-ledger-bill"),
    path("upstream/ledger/<int:pk>/payments/", bill_views.bill_pay, name="upstream-ledger-pay"),
    path("upstream/invoices/", bill_views.bill_list, name="upstream-bills"),
    path("upstream/invoices/<int:pk>/void/", bill_views.bill_void, name="upstream-bill-void"),
]
