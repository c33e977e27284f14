from django.urls import path

from billing.ledger import views

urlpatterns = [
    path("dashboard/finance/journal/", views.journal_browser, name="staff-journal"),
    path(
        "dashboard/finance/journal/<int:pk>/",
        views.journal_transaction_detail,
        name="staff-journal-transaction",
    ),
    path("dashboard/finance/accounts/", views.account_list, name="staff-ledger-accounts"),
]
