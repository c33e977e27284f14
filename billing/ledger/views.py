"""Finance pages, one book at a time: the journal (with CSV export), the chart of accounts, an account's
entries, the trial balance. Operator staff read every book; ``?book=`` names it (``operator`` or a
sub-distributor's customer code) and the operator's is the default, so older links keep working."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from accounts.models import Customer, StaffRole
from accounts.permissions import staff_required
from billing.ledger.filters import AsOfForm, JournalEntryFilter, LedgerAccountFilter
from billing.ledger.models import JournalTransaction, LedgerAccount
from billing.ledger.selectors import (
    Book,
    account_entries,
    book_find,
    book_of,
    books_list,
    journal_csv_rows,
    journal_entries,
    ledger_accounts,
    trial_balance,
    trial_balance_csv_rows,
)
from common.csv_export import csv_response
from common.listing import filtered_page

FINANCE_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)


def _book(request) -> Book:
    """The book asked for; without ``book``, a journal filtered on one customer opens the book that keeps
    that customer's accounts (its seller's), as the wallet page links it, else the operator's."""
    key = request.GET.get("book")
    if key:
        book = book_find(key)
        if book is None:
            raise Http404
        return book
    customer_id = request.GET.get("customer", "")
    customer = Customer.objects.filter(pk=customer_id).first() if customer_id.isdigit() else None
    return book_of(customer.seller_id if customer is not None else None)


def _book_context(request, book: Book) -> dict:
    return {"book": book, "books": books_list(), "book_query": f"book={book.key}"}


def _csv_query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query["export"] = "csv"
    return query.urlencode()


@staff_required(roles=FINANCE_ROLES)
def journal_browser(request):
    book = _book(request)
    entries = journal_entries(book.pk)
    if request.GET.get("export") == "csv":
        filterset = JournalEntryFilter(request.GET, queryset=entries, request=request)
        rows = filterset.qs if filterset.is_valid() else entries.none()
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return csv_response(
            journal_csv_rows(rows.iterator(chunk_size=2000)), f"journal-{book.key}-{stamp}.csv"
        )
    context = filtered_page(request, entries, JournalEntryFilter, per_page=50)
    context |= _book_context(request, book)
    context["csv_query"] = _csv_query(request)
    return render(request, "dashboard/ledger/journal.html", context)


@staff_required(roles=FINANCE_ROLES)
def journal_transaction_detail(request, pk: int):
    txn = (
        JournalTransaction.objects.select_related("actor", "reverses", "book")
        .prefetch_related("entries__account__customer")
        .filter(pk=pk)
        .first()
    )
    if txn is None:
        raise Http404
    reversed_by = JournalTransaction.objects.filter(reverses=txn).first()
    context = {"txn": txn, "reversed_by": reversed_by, "book": Book(customer=txn.book)}
    return render(request, "dashboard/ledger/transaction.html", context)


@staff_required(roles=FINANCE_ROLES)
def account_list(request):
    book = _book(request)
    context = filtered_page(request, ledger_accounts(book.pk), LedgerAccountFilter, per_page=50)
    context |= _book_context(request, book)
    return render(request, "dashboard/ledger/accounts.html", context)


@staff_required(roles=FINANCE_ROLES)
def account_detail(request, pk: int):
    account = get_object_or_404(LedgerAccount.objects.select_related("customer", "vendor", "book"), pk=pk)
    page = Paginator(account_entries(account), 50).get_page(request.GET.get("page"))
    context = {"account": account, "book": Book(customer=account.book), "page_obj": page}
    return render(request, "dashboard/ledger/account.html", context)


@staff_required(roles=FINANCE_ROLES)
def trial_balance_view(request):
    book = _book(request)
    form = AsOfForm(request.GET or None)
    as_of = form.cleaned_data["as_of"] if form.is_bound and form.is_valid() else None
    groups = trial_balance(book.pk, as_of=as_of)
    if request.GET.get("export") == "csv":
        stamp = (as_of or timezone.localdate()).strftime("%Y%m%d")
        return csv_response(trial_balance_csv_rows(groups), f"trial-balance-{book.key}-{stamp}.csv")
    context = {"form": form, "groups": groups, "as_of": as_of, "csv_query": _csv_query(request)}
    context |= _book_context(request, book)
    return render(request, "dashboard/ledger/trial_balance.html", context)
