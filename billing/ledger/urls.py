from django.urls import path

from billing.ledger import portal, views

urlpatterns = [
    path("dashboard/finance/journal/", views.journal_browser, name="staff-journal"),
    path(
        "dashboard/finance/journal/<int:pk>/",
        views.journal_transaction_detail,
        name="staff-journal-transaction",
    ),
    path("dashboard/finance/accounts/", views.account_list, name="staff-ledger-accounts"),
    path("dashboard/finance/accounts/<int:pk>/", views.account_detail, name="staff-ledger-account"),
    path("dashboard/finance/trial-balance/", views.trial_balance_view, name="staff-trial-balance"),
    path("portal/books/", portal.portal_book_accounts, name="portal-book-accounts"),
    path("portal/books/journal/", portal.portal_book_journal, name="portal-book-journal"),
    path("portal/books/trial-balance/", portal.portal_book_trial_balance, name="portal-book-trial-balance"),
]
