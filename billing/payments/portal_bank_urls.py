from django.urls import path

from billing.payments.views import portal_bank

urlpatterns = [
    path("portal/wallet/bank-transfers/", portal_bank.portal_bank_transfers, name="portal-bank-transfers"),
    path(
        "portal/wallet/bank-transfers/<int:pk>/slip/",
        portal_bank.portal_bank_transfer_attachment,
        name="portal-bank-transfer-attachment",
    ),
]
