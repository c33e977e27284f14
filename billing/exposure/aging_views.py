"""The AR aging report page, its CSV and PDF (``billing.exposure.aging_report`` does the reading).

Roles: admin, finance and sales read; auditors read (as everywhere); support is refused (403), as are
portal users, who have their own page for a resale sub-distributor's book (owner and billing members see
only the customers they bill).
"""

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from accounts.chain import book_label
from accounts.models import MemberRole, StaffRole
from accounts.permissions import seller_member_required, staff_required
from billing.documents.language import lang_checked
from billing.documents.pdf import language_for
from billing.exposure.aging_exports import aging_pdf, csv_rows
from billing.exposure.aging_forms import AgingForm
from billing.exposure.aging_report import aging_report, by_sub_distributor, sorted_rows
from billing.receivables.aging import BUCKET_KEYS, BUCKET_LABELS
from common.csv_export import csv_lines, csv_response
from common.currencies import amount_display
from common.listing import PAGE_SIZE

AGING_ROLES = (StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.SALES)


def _read(request, *, book_id=None, with_book: bool = True):
    """The bound form and, when it is valid, (report, rows in the asked order, grouped?)."""
    form = AgingForm(request.GET or None, with_book=with_book)
    if form.is_bound and not form.is_valid():
        return form, None, [], False
    data = form.cleaned_data if form.is_bound else {}
    as_of = data.get("as_of") or timezone.localdate()
    if with_book and data.get("book") is not None:
        book_id = data["book"].pk
    currency = data.get("currency") or None
    report = aging_report(as_of, book_id=book_id, currency=currency, search=data.get("q", ""))
    grouped = data.get("group") == "sub_distributor"
    sort = data.get("o") or ("-total" if grouped else "code")

    def ordered():
        return sorted_rows(by_sub_distributor(report) if grouped else report.rows, sort)

    return form, report, report.kept(f"rows:{grouped}:{sort}", ordered), grouped


def _chart(report, currency: str) -> dict:
    """The buckets' bar chart: one currency when the list is filtered to it, else the base currency."""
    sums = report.totals.get(currency) if currency else report.base_totals
    sums = sums or dict.fromkeys(BUCKET_KEYS, 0)
    return {
        "labels": [str(BUCKET_LABELS[key]) for key in BUCKET_KEYS],
        "values": [str(sums[key]) for key in BUCKET_KEYS],
        "currency": currency or report.base_currency,
        "label": _("Open receivables"),
    }


def _lines(rows, report, *, portal: bool) -> list[dict]:
    """What the table prints of one page of rows, formatted here once: the template only writes text
    (a page of ten thousand customers' report is rendered at every click, so its rendering is kept flat)."""
    base = report.base_currency
    invoices, statement = ("", "") if portal else (reverse("staff-invoice-list"), reverse("staff-statement"))
    period = f"period=custom&date_from={report.as_of:%Y}-01-01&date_to={report.as_of.isoformat()}"
    lines = []
    for row in rows:
        party = row.party
        line = {
            "party": party,
            "row": row,
            "cells": [(amount_display(a, row.currency), bool(a) and i > 0) for i, a in enumerate(row.cells)],
            "total": amount_display(row.total, row.currency),
            "base": None if row.base_total is None else amount_display(row.base_total, base),
        }
        if party is not None and not portal:
            line["invoices_url"] = f"{invoices}?customer={party.pk}&currency={row.currency}"
            line["statement_url"] = f"{statement}?customer={party.pk}&{period}"
        elif party is not None:
            line["detail_url"] = reverse("portal-customer-detail", args=[party.pk])
        lines.append(line)
    return lines


def _page(request, template: str, *, book_id=None, with_book: bool = True, extra: dict | None = None):
    form, report, rows, grouped = _read(request, book_id=book_id, with_book=with_book)
    context = {"form": form, "report": report, "grouped": grouped, "buckets": BUCKET_KEYS, **(extra or {})}
    if report is None:
        return render(request, template, context, status=400)
    currency = form.cleaned_data.get("currency", "") if form.is_bound else ""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context |= {
        "page_obj": page,
        "lines": _lines(page.object_list, report, portal=bool((extra or {}).get("portal"))),
        "bucket_labels": [BUCKET_LABELS[key] for key in BUCKET_KEYS],
        "chart": _chart(report, currency),
        "currency_lines": report.currency_lines(),
        "book": book_label(report.book_id),
        "query": request.GET.urlencode(),
        # Per-row words translated once, not in each of the page's rows.
        "operator_label": _("operator"),
        "no_rate": _("no rate"),
        "no_rate_title": _("No exchange rate at the as-of date"),
        "invoices_label": _("Invoices"),
        "statement_label": _("Statement"),
    }
    return render(request, template, context)


@staff_required(roles=AGING_ROLES)
def aging_page(request):
    return _page(request, "exposure/aging.html")


def _refusal(form) -> HttpResponse:
    errors = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in form.errors.items())
    return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")


def _filename(report, grouped: bool) -> str:
    return f"aging-{report.as_of:%Y%m%d}{'-subdistributors' if grouped else ''}"


def _csv(request, *, book_id=None, with_book: bool = True):
    form, report, rows, grouped = _read(request, book_id=book_id, with_book=with_book)
    if report is None:
        return _refusal(form)
    lines = csv_lines(csv_rows(report, rows, grouped=grouped))
    return csv_response(lines, f"{_filename(report, grouped)}.csv")


def _pdf(request, *, book_id=None, with_book: bool = True):
    form, report, rows, grouped = _read(request, book_id=book_id, with_book=with_book)
    if report is None:
        return _refusal(form)
    language = language_for(request.GET.get("lang") or request.LANGUAGE_CODE)
    response = HttpResponse(aging_pdf(report, rows, grouped=grouped, language=language), "application/pdf")
    filename = f"{_filename(report, grouped)}.pdf"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


@staff_required(roles=AGING_ROLES)
def aging_csv(request):
    return _csv(request)


@staff_required(roles=AGING_ROLES)
@lang_checked
def aging_pdf_view(request):
    return _pdf(request)


SELLER_ROLES = (MemberRole.OWNER, MemberRole.BILLING)
RESALE = ("resale",)


@seller_member_required(roles=SELLER_ROLES, modes=RESALE)
def portal_aging(request):
    """A resale sub-distributor's own book: the customers it bills, nobody else's."""
    return _page(
        request, "exposure/aging_portal.html", book_id=request.seller.pk, with_book=False,
        extra={"portal": True},
    )  # fmt: skip


@seller_member_required(roles=SELLER_ROLES, modes=RESALE)
def portal_aging_csv(request):
    return _csv(request, book_id=request.seller.pk, with_book=False)


@seller_member_required(roles=SELLER_ROLES, modes=RESALE)
@lang_checked
def portal_aging_pdf(request):
    return _pdf(request, book_id=request.seller.pk, with_book=False)
