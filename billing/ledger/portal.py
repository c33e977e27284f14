"""A resale sub-distributor's own books in the portal: chart of accounts, journal (CSV too), trial balance.

Only its owners and billing members, and only its own book: the book is always ``request.seller`` (set by
``seller_member_required``), never a parameter, so no URL reaches the operator's book or another
sub-distributor's. An agency or direct sub-distributor keeps no book (its customers are billed in its
seller's), and end customers have none: both are refused.
"""

from django.shortcuts import render
from django.utils import timezone

from accounts.models import Customer, MemberRole
from accounts.permissions import seller_member_required
from billing.ledger.filters import AsOfForm, LedgerAccountFilter, PortalJournalFilter
from billing.ledger.selectors import (
    Book,
    journal_csv_rows,
    journal_entries,
    ledger_accounts,
    trial_balance,
    trial_balance_csv_rows,
)
from common.csv_export import csv_response
from common.listing import filtered_page

BOOK_ROLES = (MemberRole.OWNER, MemberRole.BILLING)

book_member_required = seller_member_required(roles=BOOK_ROLES, modes=(Customer.ChainMode.RESALE,))


def _csv_query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query["export"] = "csv"
    return query.urlencode()


@book_member_required
def portal_book_accounts(request):
    book = Book(customer=request.seller)
    context = filtered_page(request, ledger_accounts(book.pk), LedgerAccountFilter, per_page=50)
    context["book"] = book
    return render(request, "portal/books/accounts.html", context)


@book_member_required
def portal_book_journal(request):
    book = Book(customer=request.seller)
    entries = journal_entries(book.pk)
    if request.GET.get("export") == "csv":
        filterset = PortalJournalFilter(request.GET, queryset=entries, request=request)
        rows = filterset.qs if filterset.is_valid() else entries.none()
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return csv_response(
            journal_csv_rows(rows.iterator(chunk_size=2000)), f"journal-{book.key}-{stamp}.csv"
        )
    context = filtered_page(request, entries, PortalJournalFilter, per_page=50)
    context["book"] = book
    context["csv_query"] = _csv_query(request)
    return render(request, "portal/books/journal.html", context)


@book_member_required
def portal_book_trial_balance(request):
    book = Book(customer=request.seller)
    form = AsOfForm(request.GET or None)
    as_of = form.cleaned_data["as_of"] if form.is_bound and form.is_valid() else None
    groups = trial_balance(book.pk, as_of=as_of)
    if request.GET.get("export") == "csv":
        stamp = (as_of or timezone.localdate()).strftime("%Y%m%d")
        return csv_response(trial_balance_csv_rows(groups), f"trial-balance-{book.key}-{stamp}.csv")
    context = {"book": book, "form": form, "groups": groups, "as_of": as_of, "csv_query": _csv_query(request)}
    return render(request, "portal/books/trial_balance.html", context)
