"""Staff usage pages: the overview of one book's sales and one customer's usage."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from accounts.permissions import staff_required
from accounts.selectors import customer_for_user, customers_visible_to
from billing.usage.base_currency import usage_in_base_currency
from billing.usage.filters import CustomerUsageFilter, UsageFilter
from billing.usage.selectors import daily_rows, usage_by_customer, usage_by_sub_distributor
from billing.usage.views.common import usage_context


@staff_required()
def usage_overview(request):
    """One book's usage by day, model and customer (the operator's sales unless a reseller's book or a
    customer is chosen: ``UsageFilter``); reads only the daily rollups."""
    rows = daily_rows(customers=customers_visible_to(request.user))
    context = usage_context(request, rows, UsageFilter, show_cost=True)
    usage_filter = context["filter"]
    book = usage_filter.chosen("book")
    grouped = usage_filter.chosen("group") == "sub_distributor" and usage_filter.chosen("customer") is None
    if grouped:
        context["by_customer"] = usage_by_sub_distributor(context["rows"], book=book)
    else:
        context["by_customer"] = usage_by_customer(context["rows"])
    context.update(book=book, grouped=grouped)
    if usage_filter.chosen("amounts") == "base":
        context["in_base"] = usage_in_base_currency(context["rows"], base=settings.BASE_CURRENCY)
    return render(request, "dashboard/usage/overview.html", context)


@staff_required()
def customer_usage(request, pk: int):
    customer = customer_for_user(request.user, pk)
    if customer is None:
        raise Http404
    rows = daily_rows(customers=[customer.pk])
    context = usage_context(request, rows, CustomerUsageFilter, show_cost=True)
    context["customer"] = customer
    return render(request, "dashboard/usage/customer.html", context)
