"""Finance pages: the journal browser (with CSV export) and the chart of accounts."""

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from accounts.models import StaffRole
from accounts.permissions import staff_required
from billing.ledger.filters import JournalEntryFilter, LedgerAccountFilter
from billing.ledger.models import JournalTransaction
from billing.ledger.selectors import journal_csv_rows, journal_entries, ledger_accounts
from common.csv_export import csv_response
from common.listing import filtered_page

FINANCE_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)


@staff_required(roles=FINANCE_ROLES)
def journal_browser(request):
    if request.GET.get("export") == "csv":
        filterset = JournalEntryFilter(request.GET, queryset=journal_entries(), request=request)
        rows = filterset.qs if filterset.is_valid() else journal_entries().none()
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return csv_response(journal_csv_rows(rows.iterator(chunk_size=2000)), f"journal-{stamp}.csv")
    context = filtered_page(request, journal_entries(), JournalEntryFilter, per_page=50)
    query = request.GET.copy()
    query.pop("page", None)
    query["export"] = "csv"
    context["csv_query"] = query.urlencode()
    return render(request, "dashboard/ledger/journal.html", context)


@staff_required(roles=FINANCE_ROLES)
def journal_transaction_detail(request, pk: int):
    txn = (
        JournalTransaction.objects.select_related("actor", "reverses")
        .prefetch_related("entries__account__customer")
        .filter(pk=pk)
        .first()
    )
    if txn is None:
        raise Http404
    reversed_by = JournalTransaction.objects.filter(reverses=txn).first()
    return render(request, "dashboard/ledger/transaction.html", {"txn": txn, "reversed_by": reversed_by})


@staff_required(roles=FINANCE_ROLES)
def account_list(request):
    context = filtered_page(request, ledger_accounts(), LedgerAccountFilter, per_page=50)
    return render(request, "dashboard/ledger/accounts.html", context)
