"""The margin-per-hop pages: staff see every hop and drill into one; a reseller sees the hops below it."""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.models import Customer
from accounts.permissions import seller_member_required, staff_required
from billing.chain.report import hop_by_model, hop_of, hop_report, hops_sorted, report_csv_rows
from billing.chain.report_customers import hop_by_end_customer, split_csv_rows
from billing.chain.report_forms import HopReportForm
from common.csv_export import csv_response, csv_text

PAGE_SIZE = 50


@staff_required()
def chain_report(request):
    return _report_page(request, within=None, template="chain/report.html")


@seller_member_required()
def portal_chain_report(request):
    return _report_page(request, within=request.seller, template="chain/portal_report.html")


@staff_required()
def chain_hop(request, pk: int):
    buyer = Customer.objects.filter(pk=pk).select_related("seller", "price_owner").first()
    if buyer is None:
        raise Http404
    return _hop_page(request, buyer, within=None, template="chain/hop.html")


@seller_member_required()
def portal_chain_hop(request, pk: int):
    """A hop below the signed-in seller only: one sold by itself or by a seller of its subtree."""
    buyer = (
        Customer.objects.filter(pk=pk, seller__path__startswith=request.seller.path)
        .select_related("seller", "price_owner")
        .first()
    )
    if buyer is None:
        raise Http404
    return _hop_page(request, buyer, within=request.seller, template="chain/portal_hop.html")


def _report_page(request, *, within, template):
    form = HopReportForm(request.GET or None, within=within)
    period, currency, book = form.choice()
    report = hop_report(period, currency, within=within, book=book)
    if request.GET.get("format") == "csv":
        rows = report_csv_rows(report)
        return csv_response(csv_text(rows), f"chain-report-{period.label}-{currency}.csv")
    order = request.GET.get("o", "")
    page = Paginator(hops_sorted(report.hops, order), PAGE_SIZE).get_page(request.GET.get("page"))
    sellers = report.by_seller()
    chart = {
        "labels": [_seller_name(t.seller) for t in sellers],
        "cost": [str(t.cost) for t in sellers],
        "margin": [str(t.margin) for t in sellers],
    }
    labels = {"cost": _("Cost"), "margin": _("Margin")}
    context = {
        "form": form,
        "report": report,
        "period": period,
        "currency": currency,
        "page_obj": page,
        "sellers": sellers,
        "chart": chart,
        "chart_labels": labels,
        "csv_query": _query_with(request, format="csv"),
        "within": within,
        "operator_label": settings.OPERATOR_NAME,
    }
    return render(request, template, context)


def _hop_page(request, buyer, *, within, template):
    form = HopReportForm(request.GET or None, within=within)
    period, currency, _book = form.choice()
    hop = hop_of(period, currency, buyer)
    # A reseller's hop carries its subtree's traffic too: split it by the customers who sent the requests.
    split = (
        hop_by_end_customer(period, currency, buyer, request.GET.get("o", "")) if buyer.is_reseller else None
    )
    if request.GET.get("format") == "csv":
        if split is None:
            raise Http404
        rows = split_csv_rows(split, currency)
        return csv_response(csv_text(rows), f"chain-hop-{buyer.code}-{period.label}-{currency}.csv")
    context = {
        "buyer": buyer,
        "hop": hop,
        "period": period,
        "currency": currency,
        "by_model": hop_by_model(period, currency, buyer),
        "split_page": Paginator(split, PAGE_SIZE).get_page(request.GET.get("page"))
        if split is not None
        else None,
        "csv_query": _query_with(request, format="csv"),
        "customer_url": "staff-customer-detail" if within is None else "portal-customer-detail",
        "back_query": _query_with(request),
        "within": within,
        "operator_label": settings.OPERATOR_NAME,
    }
    return render(request, template, context)


def _seller_name(seller) -> str:
    return seller.name if seller is not None else settings.OPERATOR_NAME


def _query_with(request, **values) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    for name, value in values.items():
        query[name] = value
    return query.urlencode()
