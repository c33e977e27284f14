"""Statement, usage-statement and accountant-export pages (staff), and the customer's own (portal).

Roles: statements are read by finance, admin and support (support answers customers' balance questions)
and auditors; a period's zip export is started by finance and admin only (auditors watch and download);
accountant exports (journal, trial balance …) are for finance, admin and auditors — not support or sales.
Prepaid usage statements are listed and downloaded by the same roles as statements, and in the portal by
the customer's users (a sub-distributor's users also see their subtree's).
"""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.identity import seller_identity
from accounts.models import StaffRole
from accounts.permissions import customer_user_required, staff_required
from accounts.selectors import customer_for_user, customers_visible_to, home_customer
from billing.documents.language import lang_checked, requested_language
from billing.documents.pdf import statement_pdf, usage_statement_pdf
from billing.statements import exports
from billing.statements.build import statement_build
from billing.statements.filters import (
    PortalUsageStatementFilter,
    StatementExportFilter,
    UsageStatementFilter,
)
from billing.statements.forms import ExportForm, PeriodForm, StaffStatementForm, period_initial
from billing.statements.models import StatementExport
from billing.statements.selectors import usage_statements_visible_to
from billing.statements.services import export_request
from common.csv_export import csv_response
from common.listing import filtered_page

STATEMENT_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.SUPPORT)
FINANCE_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE)


def _download(request, statement):
    """The statement as a PDF or CSV response (in ``?lang=``, else the customer's document language), or
    None for the HTML preview."""
    fmt = request.GET.get("format", "")
    language = requested_language(request, statement.language)
    if fmt == "pdf":
        response = HttpResponse(statement_pdf(statement, language=language), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{statement.filename}.pdf"'
        return response
    if fmt == "csv":
        rows = exports.statement_csv_rows(statement, language=language)
        return csv_response(rows, f"{statement.filename}.csv")
    return None


def _query_for(request, fmt: str) -> str:
    """The page's query for a download; without ``lang``, which each download link sets (the PDF is
    offered in English and in Chinese, whatever the customer reads)."""
    query = request.GET.copy()
    query["format"] = fmt
    query.pop("lang", None)
    return query.urlencode()


@staff_required(roles=STATEMENT_ROLES)
@lang_checked
def staff_statement(request):
    submitted = "customer" in request.GET
    form = StaffStatementForm(request.GET if submitted else None, initial=period_initial())
    statement = None
    if submitted and form.is_valid():
        statement = statement_build(form.cleaned_data["customer"], *form.dates)
        response = _download(request, statement)
        if response is not None:
            return response
    context = {
        "form": form,
        "statement": statement,
        # Who the statement is from: the customer's seller (a reseller's customer never sees the operator).
        "seller": seller_identity(statement.customer) if statement else None,
        "pdf_query": _query_for(request, "pdf"),
        "csv_query": _query_for(request, "csv"),
    }
    return render(request, "documents/pages/staff_statement.html", context)


@customer_user_required
@lang_checked
def portal_statement(request):
    customer = home_customer(request.user)
    if "customer" in request.GET:  # a sub-distributor looking at one of its customers
        try:
            customer = customer_for_user(request.user, int(request.GET["customer"]))
        except ValueError:
            customer = None
        if customer is None:
            raise Http404
    submitted = "period" in request.GET
    form = PeriodForm(request.GET if submitted else None, initial=period_initial())
    statement = None
    if submitted and form.is_valid():
        statement = statement_build(customer, *form.dates)
        response = _download(request, statement)
        if response is not None:
            return response
    subtree = customers_visible_to(request.user).order_by("name")
    context = {
        "form": form,
        "customer": customer,
        "subtree": subtree if subtree.count() > 1 else None,
        "statement": statement,
        "seller": seller_identity(customer) if statement else None,
        "pdf_query": _query_for(request, "pdf"),
        "csv_query": _query_for(request, "csv"),
    }
    return render(request, "documents/pages/portal_statement.html", context)


@staff_required(roles=FINANCE_ROLES)
def statement_export_list(request):
    form = PeriodForm(initial=period_initial())
    context = filtered_page(
        request, StatementExport.objects.select_related("requested_by"), StatementExportFilter, per_page=20
    )
    context["form"] = form
    context["can_start"] = not request.user.is_read_only
    return render(request, "documents/pages/export_list.html", context)


@require_POST
@staff_required(roles=FINANCE_ROLES)
def statement_export_start(request):
    form = PeriodForm(request.POST)
    if not form.is_valid():
        context = filtered_page(request, StatementExport.objects.all(), StatementExportFilter, per_page=20)
        context.update(form=form, can_start=True)
        return render(request, "documents/pages/export_list.html", context, status=400)
    export = export_request(date_from=form.dates[0], date_to=form.dates[1], actor=request.user)
    if export.state == StatementExport.State.FAILED:
        messages.error(
            request,
            _("The task queue is unreachable, so the export was not started. Try again in a few minutes."),
        )
    else:
        messages.success(request, _("The statements are being built; this page shows the progress."))
    return redirect(reverse("staff-statement-export-list") + f"#export-{export.pk}")


@staff_required(roles=FINANCE_ROLES)
def statement_export_progress(request, pk: int):
    export = get_object_or_404(StatementExport, pk=pk)
    return render(request, "documents/pages/_export_row.html", {"export": export})


@staff_required(roles=FINANCE_ROLES)
def statement_export_download(request, pk: int):
    export = get_object_or_404(StatementExport, pk=pk)
    if export.state != StatementExport.State.DONE or not export.file:
        raise Http404
    return FileResponse(
        export.file.open("rb"), as_attachment=True, filename=export.file.name.rsplit("/", 1)[-1]
    )


@staff_required(roles=FINANCE_ROLES)
def accountant_exports(request):
    submitted = "period" in request.GET
    form = ExportForm(request.GET if submitted else None, initial=period_initial())
    links = []
    if submitted and form.is_valid():
        query = request.GET.urlencode()
        labels = {
            "invoices": _("Invoices"),
            "payments": _("Payments"),
            "credit_notes": _("Credit notes"),
            "journal": _("Journal"),
            "trial_balance": _("Trial balance"),
        }
        links = [
            (key, labels[key], reverse("staff-accountant-export", args=[key]) + f"?{query}")
            for key in exports.EXPORT_KINDS
        ]
    book = form.cleaned_data["book"] if links else None
    return render(
        request, "documents/pages/accountant_exports.html", {"form": form, "links": links, "book": book}
    )


@staff_required(roles=FINANCE_ROLES)
def accountant_export(request, kind: str):
    if kind not in exports.EXPORTERS:
        raise Http404
    form = ExportForm(request.GET)
    if not form.is_valid():
        return render(request, "documents/pages/accountant_exports.html", {"form": form}, status=400)
    date_from, date_to = form.dates
    book = form.cleaned_data["book"]
    filename = f"{kind}-{book.key}-{date_from:%Y%m%d}-{date_to:%Y%m%d}.csv"
    return csv_response(exports.EXPORTERS[kind](date_from, date_to, book.pk), filename)


def _usage_statement_download(request, usage_statement):
    language = requested_language(request, usage_statement.customer.language)
    data = usage_statement_pdf(usage_statement, language=language)
    response = HttpResponse(data, content_type="application/pdf")
    filename = (
        f"usage-statement-{usage_statement.customer.code}-{usage_statement.period}-{usage_statement.currency}"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
    return response


@staff_required(roles=STATEMENT_ROLES)
def staff_usage_statement_list(request):
    context = filtered_page(request, usage_statements_visible_to(request.user), UsageStatementFilter)
    return render(request, "documents/pages/usage_statement_list.html", context)


@staff_required(roles=STATEMENT_ROLES)
@lang_checked
def staff_usage_statement_pdf(request, pk: int):
    visible = usage_statements_visible_to(request.user)
    return _usage_statement_download(request, get_object_or_404(visible, pk=pk))


@customer_user_required
def portal_usage_statement_list(request):
    context = filtered_page(request, usage_statements_visible_to(request.user), PortalUsageStatementFilter)
    context["show_customer"] = customers_visible_to(request.user).count() > 1
    return render(request, "documents/pages/portal_usage_statement_list.html", context)


@customer_user_required
@lang_checked
def portal_usage_statement_pdf(request, pk: int):
    visible = usage_statements_visible_to(request.user)
    return _usage_statement_download(request, get_object_or_404(visible, pk=pk))
